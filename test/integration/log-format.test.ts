/**
 * Log lines as an operator sees them (issue 18): a real `meridian serve --workers 2` under a
 * pseudo-terminal (util-linux `script`) writes readable lines, its workers' too, each whole; piped,
 * it writes one JSON object per line; `MERIDIAN_LOG_FORMAT` forces either way. The three nodes run
 * at once on ports picked beforehand.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/dnsproc.js';
import { deferrer, spawnRole } from '../helpers/role.js';
import { MERIDIAN } from '../helpers/meridian-bin.js';

const ZONE = new URL('../fixtures/gslb.example.com.zone', import.meta.url).pathname;
/** The head of a readable line: ISO time, a level, then the message (`component:` first when bound). */
const READABLE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;
// eslint-disable-next-line no-control-regex -- escape codes are what is checked
const ESC = /\x1b\[[0-9;]*m/g;
/** The banner serve writes to stderr once ready (for people, not a log line). */
const BANNER = /^(Meridian is|Try:|\s|$)/;

function configFile(dir: string, name: string, port: number): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({ dns: { listen: [`127.0.0.1:${port}`] }, zones: [{ origin: 'gslb.example.com', file: ZONE }] }));
  return file;
}

interface TtyRun {
  /** The terminal's output so far, as lines (CR LF → LF), escape codes kept. */
  lines(): string[];
  /** Resolves once a line, colours removed, matches; rejects after timeoutMs. */
  until(match: (plain: string[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `meridian serve` on a pseudo-terminal: `script -qfc '<cmd>' /dev/null`. */
function serveOnTty(file: string, env: NodeJS.ProcessEnv): TtyRun {
  const cmd = `exec ${[...MERIDIAN, 'serve', '--config', file].map((a) => `'${a}'`).join(' ')}`;
  const proc = spawn('script', ['-qfc', cmd, '/dev/null'], { env: { ...process.env, MERIDIAN_LOG_LEVEL: 'info', TERM: 'xterm', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const lines = (): string[] => out.replace(/\r\n/g, '\n').split('\n').slice(0, -1);
  const plain = (): string[] => lines().map((l) => l.replace(ESC, ''));
  return {
    lines,
    async until(match, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!match(plain())) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`${what}: not seen; terminal:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (proc.exitCode !== null) return;
      // The node is script's child (exec): SIGTERM stops it and its workers, and script exits with
      // it. Not SIGHUP to script: script passes it on, and to serve a SIGHUP is a reload, so the
      // node outlived the test.
      const node = Number(
        spawnSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' })
          .stdout.trim()
          .split('\n')[0],
      );
      if (node > 0) process.kill(node, 'SIGTERM');
      else proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          if (node > 0) process.kill(node, 'SIGKILL');
        } catch {
          // already gone
        }
        proc.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

test('serve on a terminal writes readable lines (workers too, each whole), JSON when piped; MERIDIAN_LOG_FORMAT forces either', async (t) => {
  const defer = deferrer(t);
  const dir = mkdtempSync(join(tmpdir(), 'meridian-logfmt-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  const ports = [await freePort(), await freePort(), await freePort()];
  const tty = serveOnTty(configFile(dir, 'tty', ports[0]!), { MERIDIAN_WORKERS: '2' });
  defer(() => tty.stop());
  const forcedJson = serveOnTty(configFile(dir, 'json', ports[1]!), { MERIDIAN_LOG_FORMAT: 'json', NO_COLOR: '1' });
  defer(() => forcedJson.stop());
  const forcedPretty = spawnRole(['serve', '--config', configFile(dir, 'pretty', ports[2]!)], { MERIDIAN_LOG_FORMAT: 'pretty' });
  defer(() => forcedPretty.stop());

  // Both workers' lines and the primary's ready line, every one readable.
  await tty.until((ls) => ls.some((l) => / ready /.test(l) && !/ worker=/.test(l)) && [1, 2].every((w) => ls.some((l) => l.includes(` worker=${w} `))), 'ready, and lines of both workers');
  // The log lines (the banner for people that follows "ready" on a terminal is not one).
  // eslint-disable-next-line no-control-regex -- escape codes are what is checked
  const shown = tty.lines().filter((l) => /^(\x1b\[2m)?(\d{4}-|\{)/.test(l));
  assert.ok(shown.length >= 5, `log lines: ${shown.length}`);
  for (const l of shown) {
    assert.match(l.replace(ESC, ''), READABLE, `readable: ${JSON.stringify(l)}`);
    assert.equal(l.replace(ESC, '').match(/\d{4}-\d\d-\d\dT/g)?.length, 1, `one record per line: ${JSON.stringify(l)}`);
  }
  assert.ok(
    shown.every((l) => l.includes('\x1b[')),
    'coloured on a terminal',
  );
  const pids = new Set(shown.map((l) => /pid=(\d+)/.exec(l.replace(ESC, ''))?.[1]));
  assert.ok(pids.size >= 3, `the primary's and both workers' lines: pids ${[...pids].join(', ')}`);

  await forcedJson.until((ls) => ls.some((l) => l.includes('"msg":"ready"')), 'ready as JSON');
  const json = forcedJson.lines().filter((l) => !BANNER.test(l));
  assert.ok(json.length >= 3, `log lines: ${json.length}`);
  for (const l of json) {
    assert.ok(!l.includes('\x1b['), 'no colour in JSON');
    assert.equal(typeof (JSON.parse(l) as { level: unknown }).level, 'number', `one JSON object per line: ${l}`);
  }

  // Piped with pretty forced: readable and plain; piped by default is JSON (every other role test reads it).
  const deadline = Date.now() + 60_000;
  while (!/ ready /.test(forcedPretty.text()) && Date.now() < deadline && forcedPretty.running()) await new Promise((r) => setTimeout(r, 100));
  const piped = forcedPretty
    .text()
    .split('\n')
    .filter((l) => !BANNER.test(l));
  assert.ok(
    piped.some((l) => /^\S+ INFO {2}ready /.test(l)),
    `the ready line, readable: ${piped.join('\n')}`,
  );
  for (const l of piped) assert.match(l, READABLE, `readable: ${JSON.stringify(l)}`);
  assert.equal(forcedPretty.lines.length, 0, 'no JSON line');
  assert.ok(!forcedPretty.text().includes('\x1b['), 'no colour on a pipe');
});
