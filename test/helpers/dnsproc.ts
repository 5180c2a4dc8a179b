/**
 * Test helper: run a real DNS server process (Meridian, or NSD as a stand-in) on loopback and talk to it
 * with `dig` / `kdig`.
 *
 * ```ts
 * const srv = await startMeridian({
 *   zones: [{ origin: 'gslb.example.com', text: ZONE }],   // written as gslb.example.com.zone
 * });                                                       // listen defaults to 127.0.0.1:<free port>
 * const out = await dig(['@127.0.0.1', '-p', String(srv.port), 'www.gslb.example.com', 'A']);
 * await srv.stop();
 * ```
 *
 * Which server runs (first match wins):
 * - `opts.command` (argv; `{config}` is replaced by the config path, otherwise `serve --config <path>`
 *   is appended);
 * - env `MERIDIAN_SERVER=nsd`: NSD serves the same zones (a self-check of a test against a known-good
 *   server; readiness is detected by probing, since NSD prints no "ready" line);
 * - env `MERIDIAN_CMD` (a shell-style command prefix, e.g. `node /work/main/dist/cli.js`; same
 *   `{config}` rule as above);
 * - default: `meridian serve --config <path>` as test/helpers/meridian-bin.ts runs it (dist/cli.js when
 *   dist/ is fresh, else the sources under tsx).
 *
 * Meridian is considered up when it logs a JSON line containing `"msg":"ready"` on stdout.
 * @module
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { stringify } from 'yaml';
import { allowLoopback } from './targets.js';
import { MERIDIAN, REPO_ROOT } from './meridian-bin.js';

/** Repository root (this file lives in <repo>/test/helpers). */
export { REPO_ROOT };

/** One zone to serve. Either `text` (written to `<origin>.zone` in the temp dir) or `file` (used as is). */
export interface ZoneSpec {
  origin: string;
  text?: string;
  file?: string;
}

/** The `dns:` block of the Meridian config (see zones/meridian.yaml). Unknown keys pass through. */
export interface DnsConfig {
  /** host:port; IPv6 as "[::1]:53". Port 0 means "pick a free port". */
  listen?: string[];
  udpSize?: number;
  tcp?: { idleTimeoutMs?: number; ioTimeoutMs?: number; maxConnections?: number };
  chaos?: boolean;
  [key: string]: unknown;
}

export type ServerKind = 'meridian' | 'nsd';

export interface StartOptions {
  zones: ZoneSpec[];
  /** Merged into the config's `dns:` block. */
  dns?: DnsConfig;
  /** Any other top-level config keys (e.g. `policies`, `health`); copied verbatim into the YAML. */
  extra?: Record<string, unknown>;
  /** Extra files written into the temp dir, relative path -> contents. */
  files?: Record<string, string | Uint8Array>;
  /** Server to run; default: env MERIDIAN_SERVER or 'meridian'. */
  kind?: ServerKind;
  /** Explicit argv for the server (overrides kind and MERIDIAN_CMD). */
  command?: string[];
  /** Prefix for the spawned argv, e.g. ['taskset', '-c', '0']. */
  wrap?: string[];
  /** How long to wait for readiness (default 60 s: a start under c8 on a loaded 2-core box took over 30 s). */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Mirror the server's stdout/stderr to this process's stderr (also env DNSPROC_VERBOSE=1). */
  verbose?: boolean;
  /**
   * Readiness probe used instead of the `ready` log line, for a server whose log level hides it
   * (MERIDIAN_LOG_LEVEL=warn keeps a busy admin API from logging every request).
   */
  ready?: (dir: string) => Promise<boolean>;
  /**
   * Run in this directory (created if missing) instead of a new temp dir. The caller owns it:
   * stop() leaves it, so a second server can start on the same config and data (a restart).
   */
  dir?: string;
}

export interface RunningServer {
  /** Host of the first listen address (e.g. "127.0.0.1"). */
  host: string;
  /** Port of the first listen address. */
  port: number;
  /** All listen addresses actually used (ports resolved). */
  listen: string[];
  /** Temp dir holding the config and zone files. */
  dir: string;
  configPath: string;
  kind: ServerKind | 'custom';
  pid: number;
  /** Everything the process printed so far (stdout + stderr, last ~1 MiB). */
  output(): string;
  /** SIGTERM, wait up to 5 s, then SIGKILL; removes the temp dir (unless env DNSPROC_KEEP=1 or `dir` was given). */
  stop(): Promise<void>;
  /** Resolves with the exit code/signal when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A port free on 127.0.0.1 for both TCP and UDP (at the time of the call). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, host, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    const udpOk = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
    if (port > 0 && udpOk) return port;
  }
  throw new Error('freePort: no free TCP+UDP port found');
}

/** Split "host:port" / "[v6]:port". */
export function splitHostPort(hp: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(hp) ?? /^([^:]+):(\d+)$/.exec(hp);
  if (!m) throw new Error(`bad listen address ${JSON.stringify(hp)} (want host:port or [v6]:port)`);
  return { host: m[1]!, port: Number(m[2]) };
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Minimal shell-words split (quotes and backslashes), enough for MERIDIAN_CMD. */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let have = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      have = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      have = true;
    } else if (/\s/.test(c)) {
      if (have) out.push(cur);
      cur = '';
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push(cur);
  return out;
}

/** Which kind of server the environment asks for. */
export function serverKindFromEnv(): ServerKind {
  const k = (process.env.MERIDIAN_SERVER ?? 'meridian').toLowerCase();
  if (k !== 'meridian' && k !== 'nsd') throw new Error(`MERIDIAN_SERVER must be meridian or nsd, got ${k}`);
  return k;
}

/** The argv that runs Meridian with the given config (see module doc for the rules). */
export function meridianArgv(configPath: string, command?: string[]): string[] {
  let base: string[];
  if (command && command.length > 0) base = command;
  else if (process.env.MERIDIAN_CMD) base = shellSplit(process.env.MERIDIAN_CMD);
  else base = [...MERIDIAN];
  if (base.some((a) => a.includes('{config}'))) return base.map((a) => a.split('{config}').join(configPath));
  return [...base, 'serve', '--config', configPath];
}

/** True when the Meridian entry point exists (source or build), or a custom command is configured. */
export function meridianAvailable(): boolean {
  return serverKindFromEnv() === 'nsd' || !!process.env.MERIDIAN_CMD || existsSync(path.join(REPO_ROOT, 'src/cli.ts')) || existsSync(path.join(REPO_ROOT, 'dist/cli.js'));
}

function nsdConf(dir: string, listen: string[], zones: { origin: string; file: string }[]): string {
  const ips = listen.map(splitHostPort);
  const port = ips[0]!.port;
  const v6 = ips.some((a) => a.host.includes(':'));
  const lines = [
    'server:',
    ...ips.map((a) => `  ip-address: ${a.host}@${a.port}`),
    `  port: ${port}`,
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${dir}"`,
    '  database: ""',
    `  zonelistfile: "${dir}/zone.list"`,
    `  xfrdfile: "${dir}/xfrd.state"`,
    `  xfrdir: "${dir}"`,
    `  pidfile: "${dir}/nsd.pid"`,
    '  server-count: 1',
    `  do-ip6: ${v6 ? 'yes' : 'no'}`,
    '  ipv4-edns-size: 1232',
    '  ipv6-edns-size: 1232',
    '  hide-version: yes',
    '  rrl-ratelimit: 0', // NSD's default RRL (200 qps per /24) would throttle loopback tests
    '  verbosity: 1',
    'remote-control:',
    '  control-enable: no',
  ];
  for (const z of zones) lines.push('zone:', `  name: "${z.origin}"`, `  zonefile: "${z.file}"`);
  return lines.join('\n') + '\n';
}

/** Encode a DNS query (RD=0, no EDNS) for `name`/`qtype`. */
export function encodeQuery(name: string, qtype: number, id = 0x4d52): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l.length > 0);
  const parts: Buffer[] = [Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]));
  return Buffer.concat(parts);
}

/** One UDP query; resolves with the raw response or null on timeout. */
export function udpQuery(host: string, port: number, msg: Buffer, timeoutMs = 500): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const finish = (v: Buffer | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    s.on('error', () => finish(null));
    s.on('message', (m) => finish(m));
    s.send(msg, port, host, (err) => {
      if (err) finish(null);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Write config + zones to a temp dir, start the server, wait until it is ready.
 * Throws (after killing the process) if it exits early or is not ready in time.
 */
export async function startMeridian(opts: StartOptions): Promise<RunningServer> {
  const kind: ServerKind | 'custom' = opts.command ? 'custom' : (opts.kind ?? serverKindFromEnv());
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'meridian-test-')));
  await mkdir(dir, { recursive: true });
  const verbose = opts.verbose ?? process.env.DNSPROC_VERBOSE === '1';

  // Listen addresses: default one free port on 127.0.0.1; any ":0" gets its own free port.
  const listenIn = opts.dns?.listen ?? ['127.0.0.1:0'];
  const listen: string[] = [];
  for (const hp of listenIn) {
    const { host, port } = splitHostPort(hp);
    listen.push(joinHostPort(host, port === 0 ? await freePort(host) : port));
  }

  const zoneEntries: { origin: string; file: string }[] = [];
  for (const z of opts.zones) {
    const origin = z.origin.replace(/\.$/, '');
    if (z.text !== undefined) {
      const file = `${origin || 'root'}.zone`;
      await writeFile(path.join(dir, file), z.text);
      zoneEntries.push({ origin, file });
    } else if (z.file !== undefined) {
      zoneEntries.push({ origin, file: path.resolve(z.file) });
    } else throw new Error(`zone ${origin}: give text or file`);
  }
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    const p = path.join(dir, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, content);
  }

  let argv: string[];
  let configPath: string;
  if (kind === 'nsd') {
    configPath = path.join(dir, 'nsd.conf');
    await writeFile(configPath, nsdConf(dir, listen, zoneEntries));
    argv = ['nsd', '-d', '-c', configPath];
  } else {
    const config = {
      ...(opts.extra ?? {}),
      dns: {
        udpSize: 1232,
        tcp: { idleTimeoutMs: 10000, ioTimeoutMs: 2000, maxConnections: 256 },
        chaos: false,
        ...(opts.dns ?? {}),
        listen,
      },
      zones: zoneEntries,
    };
    configPath = path.join(dir, 'meridian.yaml');
    await writeFile(configPath, stringify(allowLoopback(config)));
    argv = meridianArgv(configPath, opts.command);
  }
  if (opts.wrap) argv = [...opts.wrap, ...argv];

  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT,
    // One DNS process per node unless a test asks for workers (`--workers N` or opts.env): tests
    // start many nodes, and a worker per core each would multiply their cost.
    env: { ...process.env, MERIDIAN_WORKERS: process.env.MERIDIAN_WORKERS ?? '1', ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const MAX_OUT = 1 << 20;
  let readyLine = false;
  let lineBuf = '';
  const onData = (chunk: Buffer, isStdout: boolean): void => {
    const s = chunk.toString('utf8');
    out += s;
    if (out.length > MAX_OUT) out = out.slice(out.length - MAX_OUT);
    if (verbose) process.stderr.write(s);
    if (isStdout && !readyLine) {
      lineBuf += s;
      const lines = lineBuf.split('\n');
      lineBuf = lines.pop() ?? '';
      if (lines.some((l) => /"msg"\s*:\s*"ready"/.test(l))) readyLine = true;
      if (lineBuf.length > 65536) lineBuf = '';
    }
  };
  child.stdout!.on('data', (c: Buffer) => onData(c, true));
  child.stderr!.on('data', (c: Buffer) => onData(c, false));
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      exitInfo = { code: -1, signal: null };
      resolve(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exitInfo) {
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!exitInfo) child.kill('SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(t);
    }
    if (!opts.dir && process.env.DNSPROC_KEEP !== '1') await rm(dir, { recursive: true, force: true });
  };

  const first = splitHostPort(listen[0]!);
  const probeHost = first.host === '0.0.0.0' ? '127.0.0.1' : first.host === '::' ? '::1' : first.host;
  const probeName = zoneEntries[0]?.origin ?? '.';
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exitInfo) {
        const ei = exitInfo as { code: number | null; signal: NodeJS.Signals | null };
        throw new Error(`server exited before ready (code ${ei.code}, signal ${ei.signal})` + (spawnError ? `: ${(spawnError as Error).message}` : ''));
      }
      if (kind === 'nsd') {
        // NSD prints no ready line: probe until it answers the SOA of the first zone.
        const r = await udpQuery(probeHost, first.port, encodeQuery(probeName, 6), 300);
        if (r && r.length >= 12) break;
      } else if (opts.ready ? await opts.ready(dir).catch(() => false) : readyLine) break;
      if (Date.now() > deadline) throw new Error(`server not ready within ${opts.readyTimeoutMs ?? 60_000} ms`);
      await sleep(kind === 'nsd' ? 100 : 25);
    }
  } catch (e) {
    await stop();
    const err = e as Error;
    err.message += `\ncommand: ${argv.join(' ')}\n--- server output ---\n${out.slice(-8000)}`;
    throw err;
  }

  return {
    host: probeHost,
    port: first.port,
    listen,
    dir,
    configPath,
    kind,
    pid: child.pid ?? -1,
    output: () => out,
    stop,
    exited,
  };
}

/** Result of running an external tool. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command, never rejecting on a non-zero exit (rejects only if it cannot be started). */
export function run(cmd: string, args: string[], timeoutMs = 20000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(err);
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function runTool(tool: string, args: string[]): Promise<string> {
  const r = await run(tool, args);
  if (r.code !== 0) {
    const e = new Error(`${tool} ${args.join(' ')} exited ${r.code}\n${r.stdout}${r.stderr}`);
    (e as Error & { result?: ExecResult }).result = r;
    throw e;
  }
  return r.stdout;
}

/** `dig` via execFile; resolves with stdout, rejects on a non-zero exit (e.g. 9 = no reply). */
export function dig(args: string[]): Promise<string> {
  return runTool('dig', args);
}

/** `kdig` via execFile; same contract as {@link dig}. */
export function kdig(args: string[]): Promise<string> {
  return runTool('kdig', args);
}

/** What we read from dig/kdig text output. */
export interface DigResult {
  status: string;
  id: number;
  /** Header flags, lower-case: qr aa tc rd ra ad cd. */
  flags: string[];
  counts: { query: number; answer: number; authority: number; additional: number };
  /** null when the response had no OPT record. */
  opt: null | {
    version: number;
    /** EDNS flags as printed (e.g. ["do"]). */
    flags: string[];
    /** MBZ bits as printed by dig ("0x0080"), or null. */
    mbz: string | null;
    udp: number;
    /** Option lines/codes as printed, e.g. "OPT=100: ..." or "COOKIE: ...". */
    options: string[];
  };
  /** RR lines per section (dig presentation format, comments stripped). */
  answer: string[];
  authority: string[];
  additional: string[];
  /** ";; MSG SIZE  rcvd: N", or null. */
  msgSize: number | null;
  raw: string;
}

/** Parse the output of `dig` (BIND 9.18) for one response. Throws if no response header is found. */
export function parseDig(text: string): DigResult {
  const h = /->>HEADER<<- opcode: (\S+), status: (\S+), id: (\d+)/.exec(text);
  if (!h) throw new Error(`no DNS response header in dig output:\n${text}`);
  const fl = /;; flags:([^;]*); QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/.exec(text);
  if (!fl) throw new Error(`no flags line in dig output:\n${text}`);
  const res: DigResult = {
    status: h[2]!,
    id: Number(h[3]),
    flags: fl[1]!.trim().split(/\s+/).filter(Boolean),
    counts: { query: +fl[2]!, answer: +fl[3]!, authority: +fl[4]!, additional: +fl[5]! },
    opt: null,
    answer: [],
    authority: [],
    additional: [],
    msgSize: null,
    raw: text,
  };
  const ms = /;; MSG SIZE\s+rcvd: (\d+)/.exec(text);
  if (ms) res.msgSize = Number(ms[1]);
  let section = '';
  for (const line of text.split('\n')) {
    const sec = /^;; (\S+(?: \S+)?) (?:SECTION|PSEUDOSECTION):/.exec(line);
    if (sec) {
      section = sec[1]!.toUpperCase();
      continue;
    }
    if (line.trim() === '') {
      section = '';
      continue;
    }
    if (section === 'OPT') {
      const e = /^; EDNS: version: (\d+), flags:([^;]*);(?: MBZ: (0x[0-9a-fA-F]+), )?\s*udp: (\d+)/.exec(line);
      if (e) {
        res.opt = {
          version: Number(e[1]),
          flags: e[2]!.trim().split(/\s+/).filter(Boolean),
          mbz: e[3] ?? null,
          udp: Number(e[4]),
          options: [],
        };
      } else if (line.startsWith('; ') && res.opt) res.opt.options.push(line.slice(2).trim());
      else if (line.startsWith(';;')) section = '';
      continue;
    }
    if (line.startsWith(';')) continue;
    if (section === 'ANSWER') res.answer.push(line.trim());
    else if (section === 'AUTHORITY') res.authority.push(line.trim());
    else if (section === 'ADDITIONAL') res.additional.push(line.trim());
  }
  return res;
}

/** What we read from kdig text output (Knot 3.2). */
export interface KdigResult {
  status: string;
  flags: string[];
  counts: { query: number; answer: number; authority: number; additional: number };
  opt: null | { version: number; flags: string[]; udp: number; extRcode: string | null; options: string[] };
  raw: string;
}

/** Parse the output of `kdig` (Knot DNS 3.x) for one response. */
export function parseKdig(text: string): KdigResult {
  const h = /->>HEADER<<- opcode: (\S+); status: (\S+); id: (\d+)/.exec(text);
  if (!h) throw new Error(`no DNS response header in kdig output:\n${text}`);
  const fl = /;; Flags:([^;]*); QUERY: (\d+); ANSWER: (\d+); AUTHORITY: (\d+); ADDITIONAL: (\d+)/.exec(text);
  if (!fl) throw new Error(`no flags line in kdig output:\n${text}`);
  const res: KdigResult = {
    status: h[2]!,
    flags: fl[1]!.trim().split(/\s+/).filter(Boolean),
    counts: { query: +fl[2]!, answer: +fl[3]!, authority: +fl[4]!, additional: +fl[5]! },
    opt: null,
    raw: text,
  };
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith(';; EDNS PSEUDOSECTION:'));
  if (i >= 0) {
    const v = /;; Version: (\d+); flags:([^;]*); UDP size: (\d+) B; ext-rcode: (\S+)/.exec(lines[i + 1] ?? '');
    if (v) {
      const options: string[] = [];
      for (let j = i + 2; j < lines.length && lines[j]!.startsWith(';; ') && !/SECTION:/.test(lines[j]!); j++) options.push(lines[j]!.slice(3).trim());
      res.opt = {
        version: Number(v[1]),
        flags: v[2]!.trim().split(/\s+/).filter(Boolean),
        udp: Number(v[3]),
        extRcode: v[4] ?? null,
        options,
      };
    }
  }
  return res;
}
