/**
 * The demo (zones/meridian.yaml, what `npm start` runs) against 16 idle connections to its web
 * forwarder (fresh-eyes review of issue 16, MEDIUM). The demo's us-east backend is this node's own
 * /metrics page, health-checked over HTTP: every relayed connection reaches /metrics from 127.0.0.1,
 * the probe's checks too. /metrics kept 8 connections per address and refused the rest, so 16 idle
 * clients of the forwarder filled the probe's share, its checks failed and us-east went down
 * (dr.gslb.example.com failed over to eu-west). Now idle connections give way to new ones
 * (src/obs/http-guard.ts), so the checks keep passing and us-east stays up.
 *
 * The real demo file, with its ports moved to free ones and checks every 500 ms (so a down region
 * would show within seconds).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { decode, query, udpExchange } from '../helpers/client.js';
import { freePort, REPO_ROOT } from '../helpers/dnsproc.js';
import { deferrer, spawnRole, until } from '../helpers/role.js';

const DEMO_PORTS = ['1053', '8053', '9153', '8081', '8082', '8083', '8181', '8182', '8183'];

/** The demo config in `dir` with every fixed port replaced by a free one; returns the new ports by old. */
async function demoCopy(dir: string): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const p of DEMO_PORTS) ports[p] = await freePort(); // one after another: distinct
  const text = readFileSync(join(REPO_ROOT, 'zones/meridian.yaml'), 'utf8').replace(/\b(1053|8053|9153|8081|8082|8083|8181|8182|8183)\b/g, (p) => String(ports[p]));
  const doc = parse(text) as { health: Record<string, unknown> };
  doc.health.probe = { intervalMs: 500, timeoutMs: 500 };
  writeFileSync(join(dir, 'meridian.yaml'), stringify(doc));
  copyFileSync(join(REPO_ROOT, 'zones/gslb.example.com.zone'), join(dir, 'gslb.example.com.zone'));
  return ports;
}

/** A check counter of us-east's endpoint, scraped from 127.0.0.9 (not the address the flood reaches /metrics from). */
function checks(port: number, result: 'ok' | 'fail'): Promise<number> {
  const series = `meridian_probe_check_duration_seconds_count{region="us-east",endpoint="metrics",result="${result}"} `;
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', localAddress: '127.0.0.9', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve(
            Number(
              body
                .split('\n')
                .find((l) => l.startsWith(series))
                ?.slice(series.length) ?? 0,
            ),
          ),
        );
      })
      .on('error', reject);
  });
}

/** `n` idle connections to `port` that reconnect whenever closed (an attacker keeping them up). */
function idleFlood(port: number, n: number): { stop(): void } {
  let stopped = false;
  const open = new Set<net.Socket>();
  const connect = (): void => {
    if (stopped) return;
    const s = net.connect({ host: '127.0.0.1', port });
    open.add(s);
    s.on('error', () => undefined);
    s.on('close', () => (open.delete(s), setTimeout(connect, 20)));
  };
  for (let i = 0; i < n; i++) connect();
  return { stop: () => ((stopped = true), open.forEach((s) => s.destroy())) };
}

async function drAnswer(dnsPort: number): Promise<string[]> {
  const reply = await udpExchange(dnsPort, query('dr.gslb.example.com', 'A'), { timeoutMs: 2000 });
  assert.ok(reply, 'dr.gslb.example.com answered');
  return decode(reply).answers.map((a) => String(a.data));
}

test('the demo keeps us-east up while 16 idle connections through its web forwarder hold /metrics', async (t) => {
  const defer = deferrer(t);
  const dir = mkdtempSync(join(tmpdir(), 'meridian-demo-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  const ports = await demoCopy(dir);
  const node = spawnRole(['serve', '--config', join(dir, 'meridian.yaml')]);
  defer(() => node.stop());
  await node.line((l) => l.msg === 'ready', 60_000, 'ready');
  const metricsPort = ports['9153']!;
  await until(async () => (await checks(metricsPort, 'ok')) >= 2, 20_000, 'us-east checked');
  assert.deepEqual(await drAnswer(ports['1053']!), ['192.0.2.10'], 'us-east answers dr before the flood');

  const flood = idleFlood(ports['8081']!, 16);
  defer(() => flood.stop());
  const [ok0, fail0] = [await checks(metricsPort, 'ok'), await checks(metricsPort, 'fail')];
  // Six checks (3 s at 500 ms) while the flood holds its connections: before, every one was refused.
  await until(async () => (await checks(metricsPort, 'ok')) >= ok0 + 6, 30_000, 'six more checks of us-east passed during the flood');
  const failed = (await checks(metricsPort, 'fail')) - fail0;
  assert.ok(failed < 3, `${failed} checks failed during the flood (3 in a row take the region down)`);
  assert.deepEqual(await drAnswer(ports['1053']!), ['192.0.2.10'], 'us-east still answers dr: it never went down');
});
