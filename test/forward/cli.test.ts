/**
 * `meridian forward` as a process: it starts from a config file (embedded mode, no Redis), logs
 * its listeners, proxies, and on SIGTERM drains (the open connection finishes) and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { client, makeConfig, roundTrip, startBackend, webListener } from './helpers.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

describe('meridian forward (process)', () => {
  it('serves, then drains on SIGTERM and exits 0', async (t) => {
    const backend = await startBackend();
    const { dir, cleanup } = makeConfig([{ id: 'eu', backends: [backend.port] }], { listeners: [webListener()], drainDeadlineMs: 10_000 });
    t.after(async () => {
      await backend.close();
      cleanup();
    });
    const env = { ...process.env, REDIS_URL: '', MERIDIAN_LOG_LEVEL: 'info' };
    const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'forward', '--region', 'eu', '--config', join(dir, 'meridian.yaml')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void proc.kill('SIGKILL'));
    const lines: Record<string, unknown>[] = [];
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const seen = (msg: string, timeoutMs = 15_000): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${msg}" log line; stderr: ${stderr}`)), timeoutMs);
        const check = (): void => {
          const hit = lines.find((l) => l.msg === msg);
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
          } else setTimeout(check, 20);
        };
        check();
      });
    let partial = '';
    proc.stdout!.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    const ready = await seen('forwarder ready');
    const port = Number(String((ready.listeners as string[])[0]).split(':').pop());
    const c = await client(port);
    await roundTrip(c, 'through the forward process');
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    await seen('draining: not accepting new connections');
    await roundTrip(c, 'still served while draining');
    c.socket.end();
    assert.equal(await exited, 0);
    const drained = lines.find((l) => l.msg === 'drained: every connection finished');
    assert.ok(drained, JSON.stringify(lines.map((l) => l.msg)));
    assert.equal(drained.remaining, 0);
    assert.deepEqual(await c.closed, { gotEnd: true, error: null });
  });
});
