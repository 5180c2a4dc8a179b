/**
 * Regressions (issue 14, defects 1 and 6) with real processes and a real redis-server:
 * - a DNS node with an `admin:` section started while Redis is down never served and never exited;
 *   it must answer from its local copy (or the YAML), serve the API, and follow the store once
 *   Redis is back; a truly fatal start must exit non-zero within 10 s;
 * - while Redis is down every admin route answered 503 with an ioredis message: reads must be served
 *   from the node's current version, writes refused with a coded 503 that says what is wrong, and
 *   the follower must log once per state change;
 * - every `meridian probe` start logged a false "cannot publish" warning.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { clusterConfig, localCopyOf, startClusterNode, usEast, waitFor, ZONE, type ClusterNode } from '../helpers/cluster.js';
import { freePort, REPO_ROOT } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowLoopback } from '../helpers/targets.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const skip = redisSkipReason();
const ZONE_TEXT = `$ORIGIN ${ZONE}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
/** What an operator must never see in an API error: the client library's internals. */
const INTERNALS = /enableOfflineQueue|Stream isn't writeable|ECONNREFUSED|Connection is closed/;

describe('a DNS node with an admin API, started while Redis is down', { skip, timeout: 180_000 }, () => {
  let redis: TestRedis;
  const nodes: ClusterNode[] = [];

  before(async () => {
    redis = await startRedis();
    await redis.stop(); // its port is known and nothing listens there
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await redis?.stop();
  });

  test('answers from the YAML, serves reads, refuses writes with a coded 503, then follows the store once Redis is up', async () => {
    const node = await startClusterNode({ redisUrl: redis.url });
    nodes.push(node);
    assert.equal(await node.answer(), '192.0.2.10', 'answers from the YAML seed');
    // The `ready` line says DNS answers, and that /readyz is not ready yet, with why.
    assert.equal(node.logs().find((l) => l.msg === 'ready')?.readyz, 'not ready');
    const notReady = node.logs().find((l) => l.msg === 'answering DNS; /readyz not ready yet');
    assert.ok(notReady, 'the not-ready line');
    assert.match(JSON.stringify(notReady.reasons), /no config-store version applied yet/);
    const status = await node.api('GET', '/v1/status');
    assert.equal(status.status, 200, status.text);
    assert.equal(status.body.storeReachable, false);
    const regions = await node.api('GET', '/v1/regions');
    assert.equal(regions.status, 200, regions.text);
    assert.deepEqual(
      regions.body.map((r: { id: string }) => r.id),
      ['us-east', 'eu-west'],
    );
    const write = await node.api('PUT', '/v1/regions/us-east', usEast('192.0.2.77'));
    assert.equal(write.status, 503, write.text);
    assert.equal(write.body.error.code, 'MERIDIAN_ERR_STORE_UNAVAILABLE');
    assert.match(write.body.error.message, /unreachable/);
    assert.doesNotMatch(write.text, INTERNALS);

    await redis.restart();
    assert.ok(await waitFor(async () => (await node.api('GET', '/v1/status')).body.storeReachable === true, 20_000), 'reconnects in the background');
    const put = await node.api('PUT', '/v1/regions/us-east', usEast('192.0.2.77'));
    assert.equal(put.status, 200, put.text);
    assert.ok(await waitFor(async () => (await node.answer()) === '192.0.2.77', 10_000), 'then follows the store');
    assert.ok(await waitFor(() => node.logs().some((l) => l.msg === '/readyz ready'), 10_000), 'and says when /readyz turned ready');
  });

  test('with a local copy, a node booted while Redis is down answers from the copy', async () => {
    // The copy is written just after the version is applied: wait for it, not for the answer.
    assert.ok(await waitFor(() => localCopyOf(nodes[0]!).includes('192.0.2.77'), 10_000), 'the first node wrote its copy');
    const copy = localCopyOf(nodes[0]!);
    await redis.stop();
    const node = await startClusterNode({ redisUrl: redis.url, files: { 'data/local-copy.json': copy } });
    nodes.push(node);
    assert.equal(await node.answer(), '192.0.2.77');
    const config = await node.api('GET', '/v1/config');
    assert.equal(config.status, 200, config.text);
    assert.equal(config.body.document.regions[0].addresses.ipv4[0], '192.0.2.77');
  });

  test('with a local copy, a node answers from it before the store is reached or given up (a Redis that never answers)', async () => {
    const copy = localCopyOf(nodes[0]!);
    // Accepts and never speaks: the store neither connects nor fails until its own timeout.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const node = await startClusterNode({ redisUrl: `redis://127.0.0.1:${port}`, files: { 'data/local-copy.json': copy } });
      nodes.push(node);
      const beforeReady = node.logs().slice(
        0,
        node.logs().findIndex((l) => l.msg === 'ready'),
      );
      assert.deepEqual(
        beforeReady.filter((l) => /store unreachable|booting from/.test(String(l.msg))).map((l) => l.msg),
        [],
        'ready without waiting on the store',
      );
      assert.equal(await node.answer(), '192.0.2.77', 'answers from the copy');
      assert.equal((await node.api('GET', '/v1/status')).body.storeReachable, false);
    } finally {
      silent.close();
    }
  });

  test('a fatal start (admin port taken) exits non-zero within 10 s, Redis down or not', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'meridian-fatal-'));
    try {
      const port = (busy.address() as { port: number }).port;
      const metricsPort = await freePort();
      const config = {
        ...clusterConfig(redis.url, port),
        dns: { listen: [`127.0.0.1:${await freePort()}`] },
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        zones: [{ origin: ZONE, file: 'zone' }],
      };
      writeFileSync(join(dir, 'zone'), ZONE_TEXT);
      writeFileSync(join(dir, 'meridian.yaml'), stringify(allowLoopback(config)));
      const proc = spawn(process.execPath, [...MERIDIAN_ENTRY, 'serve', '--config', join(dir, 'meridian.yaml')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let firstOutputAt = 0;
      let out = '';
      const seen = (d: Buffer): void => {
        firstOutputAt ||= Date.now();
        out += d.toString();
      };
      proc.stdout.on('data', seen);
      proc.stderr.on('data', seen);
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          proc.kill('SIGKILL');
          resolve(null);
        }, 60_000);
        proc.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.notEqual(code, null, `the process exited; output:\n${out}`);
      assert.notEqual(code, 0);
      // Measured from its first log line: starting the TypeScript runtime is not the node's start.
      assert.ok(Date.now() - firstOutputAt < 10_000, `exited ${Date.now() - firstOutputAt} ms after its first log line`);
      assert.match(out, /EADDRINUSE/);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('while Redis is down, a running node', { skip, timeout: 180_000 }, () => {
  let redis: TestRedis;
  let node: ClusterNode;

  before(async () => {
    redis = await startRedis();
    node = await startClusterNode({ redisUrl: redis.url });
    const put = await node.api('PUT', '/v1/regions/us-east', usEast('192.0.2.55'));
    assert.equal(put.status, 200, put.text);
  });
  after(async () => {
    await node?.stop();
    await redis?.stop();
  });

  test('serves reads from its current version, refuses writes with a coded 503, and logs once per state change', async () => {
    const configLines = (): Record<string, unknown>[] => node.logs().filter((l) => l.component === 'config' || l.component === 'store');
    const before = configLines().length;
    const allBefore = node.logs().length;
    await redis.stop();
    assert.ok(await waitFor(async () => (await node.api('GET', '/v1/status')).body?.storeReachable === false, 20_000), 'status says the store is unreachable');
    for (const path of ['/v1/config', '/v1/regions', '/v1/regions/us-east', '/v1/services', '/v1/zones']) {
      const res = await node.api('GET', path);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
    }
    assert.equal((await node.api('GET', '/v1/regions/us-east')).body.addresses.ipv4[0], '192.0.2.55', 'the version the node answers from');
    const write = await node.api('PUT', '/v1/regions/us-east', usEast('192.0.2.56'));
    assert.equal(write.status, 503, write.text);
    assert.equal(write.body.error.code, 'MERIDIAN_ERR_STORE_UNAVAILABLE');
    assert.match(write.body.error.message, /unreachable/);
    assert.doesNotMatch(write.text, INTERNALS);
    assert.equal(await node.answer(), '192.0.2.55', 'DNS keeps answering');
    // Several retry and head-check periods pass while Redis is away (2 s each): none may add a line.
    await new Promise((r) => setTimeout(r, 5_000));
    const during = configLines().slice(before);
    assert.equal(during.length, 1, `one line for the outage: ${JSON.stringify(during.map((l) => l.msg))}`);
    // Every other component too (health bus, override sweeps): each warning says it once, not per
    // retry (the API's per-request lines are info, not state changes).
    const outage = node
      .logs()
      .slice(allBefore)
      .filter((l) => Number(l.level) >= 40)
      .map((l) => `${String(l.component)}: ${String(l.msg)}`);
    assert.deepEqual(outage, [...new Set(outage)], `no line repeats during the outage: ${JSON.stringify(outage)}`);

    await redis.restart();
    assert.ok(await waitFor(async () => (await node.api('GET', '/v1/status')).body?.storeReachable === true, 20_000));
    await new Promise((r) => setTimeout(r, 3_000));
    // Redis came back empty: what the node does about that (defect 2) is logged on its own line.
    const back = configLines()
      .slice(before + 1)
      .filter((l) => !/config version applied|seeded|restored|lost its data|behind/.test(String(l.msg)));
    assert.equal(back.length, 1, `one line for the return: ${JSON.stringify(back.map((l) => l.msg))}`);
  });
});

describe('meridian probe', { skip, timeout: 120_000 }, () => {
  test('starts without a false "cannot publish" warning', async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'meridian-probe-'));
    const backend = createServer((s) => s.end());
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const reader = new Redis(redis.url);
    const config = {
      health: { redisUrl: redis.url },
      dns: { listen: ['127.0.0.1:0'] },
      zones: [{ origin: ZONE, file: 'zone' }],
      regions: [{ id: 'us-east', ...usEast('192.0.2.10'), endpoints: [{ id: 'b0', address: '127.0.0.1', port: (backend.address() as { port: number }).port }] }],
    };
    writeFileSync(join(dir, 'zone'), ZONE_TEXT);
    writeFileSync(join(dir, 'meridian.yaml'), stringify(allowLoopback(config)));
    const proc = spawn(process.execPath, [...MERIDIAN_ENTRY, 'probe', '--region', 'us-east', '--vantage', 'v1', '--config', join(dir, 'meridian.yaml')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      assert.ok(await waitFor(() => /"msg":"ready"/.test(out), 60_000), `ready; output:\n${out}`);
      assert.ok(await waitFor(async () => (await reader.smembers('{meridian}:health:vantages')).includes('v1'), 20_000), 'the view is published');
      assert.doesNotMatch(out, /cannot publish/);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      reader.disconnect();
      backend.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
