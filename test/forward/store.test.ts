/**
 * `meridian forward` in cluster mode follows the config store: an endpoint registered through the
 * store (as the admin API does for autoscalers) becomes a backend without a restart, and one removed
 * stops getting connections.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openRedisStore } from '../../src/store/redis.js';
import { redisSkipReason, startRedis } from '../helpers/redis.js';
import { client, makeConfig, roundTrip, startBackend, until, webListener } from './helpers.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

describe('meridian forward follows the config store (Redis)', { skip: redisSkipReason() }, () => {
  it('an endpoint swapped through the store carries the next connections', async (t) => {
    const redis = await startRedis();
    const a = await startBackend();
    const b = await startBackend();
    const { dir, cleanup } = makeConfig([{ id: 'eu', backends: [a.port] }], { listeners: [webListener()], drainDeadlineMs: 1_000 }, undefined, {
      admin: { listen: null },
      health: { redisUrl: redis.url },
    });
    const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'forward', '--region', 'eu', '--config', join(dir, 'meridian.yaml')], {
      env: { ...process.env, REDIS_URL: redis.url, MERIDIAN_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const store = await openRedisStore(redis.url);
    t.after(async () => {
      proc.kill('SIGKILL');
      await store.close();
      await a.close();
      await b.close();
      await redis.stop();
      cleanup();
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => /forwarder ready/.test(out), 15_000, 'forwarder ready');
    const ready = out.split('\n').map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((l) => l.msg === 'forwarder ready')!;
    const port = Number(String((ready.listeners as string[])[0]).split(':').pop());
    await until(() => out.includes('"configVersion":1'), 5_000, 'the forwarder seeded and applied version 1');

    const c1 = await client(port);
    await roundTrip(c1, 'to a');
    c1.socket.end();
    assert.equal(a.sockets.length, 1);

    // Replace backend a with backend b, as `POST`/`DELETE /v1/regions/eu/endpoints` would.
    const head = await store.head();
    const record = (await store.get(head))!;
    record.document.regions[0]!.endpoints = [{ id: 'b-new', address: '127.0.0.1', port: b.port, check: { type: 'tcp' } }];
    const committed = await store.commit({ expected: head, document: record.document, diff: [], author: 'test', reason: 'autoscaler', action: 'endpoint.register', target: 'endpoint/eu/b-new' });
    assert.ok(committed.ok);
    await until(() => /"version":2[,}].*config version applied/.test(out) || out.includes('"version":2,"author":"test"'), 5_000, 'the forwarder applied version 2');

    const c2 = await client(port);
    await roundTrip(c2, 'to b');
    c2.socket.end();
    assert.equal(b.sockets.length, 1, 'the new endpoint took the connection');
    assert.equal(a.sockets.length, 1, 'the removed endpoint got nothing more');
  });

  it('a store found empty is left for a DNS node to restore: a forwarder\'s copy holds no tokens', async (t) => {
    const redis = await startRedis();
    const a = await startBackend();
    const { dir, cleanup } = makeConfig([{ id: 'eu', backends: [a.port] }], { listeners: [webListener()], drainDeadlineMs: 1_000 }, undefined, {
      admin: { listen: null },
      health: { redisUrl: redis.url },
    });
    const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'forward', '--region', 'eu', '--config', join(dir, 'meridian.yaml')], {
      env: { ...process.env, REDIS_URL: redis.url, MERIDIAN_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const store = await openRedisStore(redis.url);
    t.after(async () => {
      proc.kill('SIGKILL');
      await store.close();
      await a.close();
      await redis.stop();
      cleanup();
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('"configVersion":1'), 30_000, 'the forwarder seeded and applied version 1');
    const ready = out.split('\n').map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((l) => l.msg === 'forwarder ready')!;
    const port = Number(String((ready.listeners as string[])[0]).split(':').pop());

    await redis.restart(); // empty
    await until(() => /keeping this version until a DNS node restores it/.test(out), 15_000, 'the forwarder saw the empty store');
    await new Promise((r) => setTimeout(r, 2_500)); // a few head checks (2 s) later
    assert.equal(await store.head(), 0, 'the forwarder restored nothing');
    assert.equal(out.match(/lost its data/g)?.length, 1, 'said once');
    const c = await client(port);
    await roundTrip(c, 'still forwarding');
    c.socket.end();
  });
});
