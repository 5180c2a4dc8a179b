/**
 * Two backends of different speeds behind two running `meridian forward` processes (one per relay
 * lane), and a client that counts which backend served each connection. balancers.test.ts runs
 * this script in a network namespace of its own (`unshare -n`), so nothing here touches the
 * host's network.
 *
 * The slow backend is slow to connect to, as a far or overloaded one is: it runs in a second
 * namespace (S) behind a link that delays every packet from it by DELAY_MS. There is no netem on
 * every kernel, so the delay is made here, in user space: the link is a VXLAN tunnel over a veth
 * pair, and S's end sends its frames to this process, which holds each one DELAY_MS before passing
 * it on to this namespace's VXLAN port (re-computing the inner TCP checksum, which the sender left
 * to an offload that a user-space hop never performs).
 *
 * ```
 *  this namespace                                                     namespace S
 *  meridian forward ─► 127.0.0.1:7001 fast backend
 *                   └─► 198.18.0.2:7000 ─ vx0 198.18.0.1 ═══ veth 198.19.0.1 ─── 198.19.0.2 ═══ vx0 198.18.0.2 ─ slow backend
 *                       frames from S: UDP 198.19.0.1:4790 (here, + DELAY_MS) ─► 198.19.0.1:4789 (vx0)
 * ```
 *
 * Usage: `unshare -n node --import tsx test/forward/slow-link.ts [DELAY_MS]`. Prints one line
 * `RESULT {json}`, or exits 77 with the reason when this machine cannot build the link.
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowLoopback } from '../helpers/targets.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const DELAY_MS = Number(process.argv[2] ?? 30);
const SLOW = { address: '198.18.0.2', port: 7000 };
const FAST = { address: '127.0.0.1', port: 7001 };
/** Per lane: the forwarder's listeners (least-response-time, random-two-choices) and metrics port. */
const LANES = { fast: { lrt: 8001, p2c: 8002, metrics: 9101 }, socket: { lrt: 8011, p2c: 8012, metrics: 9111 } } as const;

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function run(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The slow backend, in namespace S: says who it is and closes. */
async function startSlowNamespace(): Promise<string> {
  const script = `require('net').createServer((s) => { s.on('error', () => {}); s.end('slow'); }).listen(${SLOW.port}, '0.0.0.0', () => console.log('listening'));`;
  const proc = spawn('unshare', ['-n', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`unshare -n exited ${code}`)));
    proc.stdout!.once('data', () => resolve());
  });
  return String(proc.pid);
}

/** The link to S, delayed from S to here; see the module comment. */
function buildLink(pid: string): void {
  const inS = (...args: string[]): void => run('nsenter', '-t', pid, '-n', ...args);
  run('ip', 'link', 'set', 'lo', 'up');
  run('ip', 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', pid);
  run('ip', 'addr', 'add', '198.19.0.1/30', 'dev', 'veth0');
  run('ip', 'link', 'set', 'veth0', 'up');
  inS('ip', 'addr', 'add', '198.19.0.2/30', 'dev', 'veth0');
  inS('ip', 'link', 'set', 'veth0', 'up');
  run('ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'local', '198.19.0.1', 'dstport', '4789', 'nolearning');
  run('bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '198.19.0.2');
  inS('ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'local', '198.19.0.2', 'dstport', '4789', 'nolearning');
  inS('bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '198.19.0.1', 'port', '4790');
  run('ip', 'addr', 'add', '198.18.0.1/30', 'dev', 'vx0');
  run('ip', 'link', 'set', 'vx0', 'up');
  inS('ip', 'addr', 'add', '198.18.0.2/30', 'dev', 'vx0');
  inS('ip', 'link', 'set', 'vx0', 'up');
}

/** Frames from S: held DELAY_MS, then handed to this namespace's VXLAN port. */
async function startDelayer(): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (frame) => {
    fixInnerTcpChecksum(frame);
    setTimeout(() => sock.send(frame, 4789, '198.19.0.1'), DELAY_MS);
  });
  await new Promise<void>((resolve) => sock.bind(4790, '198.19.0.1', resolve));
  return sock;
}

/** VXLAN (8 bytes) + Ethernet (14) + IPv4 + TCP: writes the TCP checksum the offload would have. */
function fixInnerTcpChecksum(frame: Buffer): void {
  const ip = 8 + 14;
  if (frame.length < ip + 20 || frame.readUInt16BE(8 + 12) !== 0x0800 || frame[ip + 9] !== 6) return;
  const ihl = (frame[ip]! & 15) * 4;
  const tcp = ip + ihl;
  const len = frame.readUInt16BE(ip + 2) - ihl;
  frame.writeUInt16BE(0, tcp + 16);
  let sum = 6 + len; // pseudo-header: protocol and TCP length, then both addresses
  for (let i = 12; i < 20; i += 2) sum += frame.readUInt16BE(ip + i);
  for (let i = 0; i < len; i += 2) sum += i + 1 < len ? frame.readUInt16BE(tcp + i) : frame[tcp + i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  frame.writeUInt16BE(~sum & 0xffff, tcp + 16);
}

function writeConfig(dir: string, lane: keyof typeof LANES): string {
  const ports = LANES[lane];
  const listener = (name: string, port: number, balance: string): Record<string, unknown> => ({ name, service: 'www.gslb.example.com', listen: `127.0.0.1:${port}`, balance });
  const doc = {
    zones: [{ origin: 'gslb.example.com', file: 'zone' }],
    regions: [
      {
        id: 'eu',
        location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' },
        addresses: { ipv4: ['192.0.2.10'] },
        endpoints: [
          { id: 'fast', ...FAST },
          { id: 'slow', ...SLOW },
        ],
      },
    ],
    services: [{ name: 'www.gslb.example.com', regions: ['eu'] }],
    // A long τ: the slow backend's average must not relax toward the fast one's within the run
    // (on a loaded machine the run can take a while); src/forward/README.md explains the decay.
    forward: {
      fastLane: lane === 'fast',
      drainDeadlineMs: 0,
      leastResponseTime: { decayMs: 600_000 },
      listeners: [listener('lrt', ports.lrt, 'least-response-time'), listener('p2c', ports.p2c, 'random-two-choices')],
    },
  };
  const file = join(dir, `${lane}.yaml`);
  writeFileSync(file, JSON.stringify(allowLoopback(doc), null, 2));
  return file;
}

function startForwarder(config: string, metricsPort: number): Promise<void> {
  const env = { ...process.env, REDIS_URL: '', MERIDIAN_LOG_LEVEL: 'info' };
  const proc = spawn(process.execPath, [...MERIDIAN_ENTRY, 'forward', '--region', 'eu', '--config', config, '--metrics', `127.0.0.1:${metricsPort}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"forwarder ready"')) resolve();
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => reject(new Error(`meridian forward exited ${code}: ${out}`)));
  });
}

/** One connection through the forwarder: what the backend said before closing. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(text));
  });
}

/** `total` connections, `concurrency` at a time; how many each backend served. */
async function load(port: number, total: number, concurrency: number): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      const who = await greeting(port);
      served[who] = (served[who] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return served;
}

/** The forwarder's own view: whether it relays on the fast lane, and each backend's connect-time average. */
async function metricsOf(port: number): Promise<{ fastLane: number; connectSeconds: Record<string, number> }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (series: string): number =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${series} `))
        ?.split(' ')[1] ?? Number.NaN,
    );
  return {
    fastLane: value('meridian_forward_fast_lane{region="eu",listener="lrt"}'),
    connectSeconds: Object.fromEntries(['fast', 'slow'].map((e) => [e, value(`meridian_forward_backend_connect_time_seconds{region="eu",endpoint="${e}"}`)])),
  };
}

async function main(): Promise<void> {
  let pid: string;
  try {
    pid = await startSlowNamespace();
    buildLink(pid);
  } catch (err) {
    process.stdout.write(`UNSUPPORTED ${(err as Error).message.split('\n')[0]}\n`);
    process.exit(77);
  }
  const delayer = await startDelayer();
  const fast = createServer((s) => {
    s.on('error', () => undefined);
    s.end('fast');
  });
  await new Promise<void>((resolve) => fast.listen(FAST.port, FAST.address, resolve));
  const dir = mkdtempSync(join(tmpdir(), 'meridian-slow-link-'));
  try {
    writeFileSync(join(dir, 'zone'), '$ORIGIN gslb.example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n');
    await Promise.all((['fast', 'socket'] as const).map((lane) => startForwarder(writeConfig(dir, lane), LANES[lane].metrics)));
    const result: Record<string, unknown> = {};
    for (const lane of ['fast', 'socket'] as const) {
      const ports = LANES[lane];
      // One client after another: nothing but the connect time tells the backends apart.
      const lrt = await load(ports.lrt, 60, 1);
      // Eight at a time: connections to the slow backend stay open longer, so it has more of them.
      const p2c = await load(ports.p2c, 240, 8);
      result[lane] = { lrt, p2c, ...(await metricsOf(ports.metrics)) };
    }
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  } finally {
    delayer.close();
    fast.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

await main();
