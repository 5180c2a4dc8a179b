/**
 * Drain with TTL choreography, checked in real DNS answers: answers that carry the region get the
 * lowered TTL at once, the region keeps being handed out until the old TTL has run out, then it is
 * not handed out any more; GET reports each phase; DELETE brings it back. A service TTL of 2 s
 * keeps the whole choreography around 3 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PROPAGATION_MS } from '../../src/admin/drain.js';
import { dnsQuery, etagVersion, EU, startAdminNode, US, waitFor, Z, type AdminNode } from './helpers.js';

const OLD_TTL = 2;

describe('drain: lower the TTL, wait out the old one, stop handing the region out', () => {
  let n: AdminNode;

  before(async () => {
    n = await startAdminNode({
      services: [
        { name: `www.${Z}`, ttl: OLD_TTL, regions: ['eu-west', 'us-east'], policy: { failover: ['eu-west', 'us-east'] } },
        { name: `us.${Z}`, ttl: OLD_TTL, regions: ['us-east'] },
      ],
    });
  });
  after(() => n?.stop());

  test('POST → lowering (lower TTL in answers carrying the region) → drained (region gone) → DELETE restores', async () => {
    assert.deepEqual(await dnsQuery(n.port, `www.${Z}`), { rcode: 'NOERROR', addresses: [EU], ttls: [OLD_TTL] });
    const head = await n.head();
    const t0 = Date.now();
    const started = await n.api('POST', '/v1/regions/eu-west/drain?reason=maintenance', { body: { ttl: 1 } });
    assert.equal(started.status, 202, started.body);
    assert.equal(started.json.phase, 'lowering');
    assert.equal(started.json.ttl, 1);
    assert.equal(started.json.version, head + 1);
    assert.equal(etagVersion(started.headers.etag), head + 1);
    assert.equal(started.json.forwarderConnections, null, 'no forwarder reports load yet');
    const wait = Date.parse(started.json.completeAt) - Date.parse(started.json.startedAt);
    assert.equal(wait, PROPAGATION_MS + OLD_TTL * 1000, 'the wait is the old TTL plus the propagation allowance');
    assert.ok(started.json.remainingSeconds > 0 && started.json.remainingSeconds <= wait / 1000);

    await n.applied(head + 1);
    // Still handed out, but with the drain TTL; answers without the region keep theirs.
    assert.deepEqual(await dnsQuery(n.port, `www.${Z}`), { rcode: 'NOERROR', addresses: [EU], ttls: [1] });
    assert.deepEqual(await dnsQuery(n.port, `us.${Z}`), { rcode: 'NOERROR', addresses: [US], ttls: [OLD_TTL] });
    const explained = await n.api('GET', `/v1/explain?name=www.${Z}&ip=192.0.2.1`);
    assert.equal(explained.json.ttl, 1, 'explain shows the TTL the answer carries');

    const progress = await n.api('GET', '/v1/regions/eu-west/drain');
    assert.equal(progress.status, 200);
    assert.equal(progress.json.phase, 'lowering');
    assert.ok(progress.json.remainingSeconds > 0, `remaining ${progress.json.remainingSeconds}`);
    assert.equal(progress.json.forwarderConnections, null);

    // A second POST while it drains is the same drain: no new version, no new clock.
    const again = await n.api('POST', '/v1/regions/eu-west/drain', { body: {} });
    assert.equal(again.status, 202);
    assert.deepEqual([again.json.version, again.json.startedAt], [head + 1, started.json.startedAt]);

    assert.ok(await waitFor(async () => (await n.api('GET', '/v1/regions/eu-west/drain')).json.phase === 'drained', 8000, 100), 'the drain completes');
    const done = (await n.api('GET', '/v1/regions/eu-west/drain')).json;
    assert.deepEqual([done.phase, done.remainingSeconds, done.version], ['drained', 0, head + 2]);
    const versions = (await n.api('GET', '/v1/versions?limit=2')).json;
    assert.deepEqual(
      versions.map((v: { action: string }) => v.action),
      ['region.drained', 'region.drain'],
    );
    assert.equal(versions[1].reason, 'maintenance');
    assert.ok(Date.parse(versions[0].time) - t0 >= OLD_TTL * 1000, 'not before the old TTL ran out');
    assert.equal((await n.api('GET', '/v1/regions/eu-west')).json.state, 'drained');
    await n.applied(head + 2);
    assert.deepEqual(await dnsQuery(n.port, `www.${Z}`), { rcode: 'NOERROR', addresses: [US], ttls: [OLD_TTL] });

    const drainedAgain = await n.api('POST', '/v1/regions/eu-west/drain');
    assert.equal(drainedAgain.status, 202, `a POST with no body is a drain with the default TTL: ${drainedAgain.body}`);
    assert.deepEqual([drainedAgain.json.phase, drainedAgain.json.version], ['drained', head + 2]);

    const ended = await n.api('DELETE', '/v1/regions/eu-west/drain');
    assert.equal(ended.status, 200, ended.body);
    assert.deepEqual([ended.json.phase, ended.json.version], ['none', head + 3]);
    await n.applied(head + 3);
    assert.deepEqual(await dnsQuery(n.port, `www.${Z}`), { rcode: 'NOERROR', addresses: [EU], ttls: [OLD_TTL] });
    assert.equal((await n.api('GET', '/v1/regions/eu-west')).json.state, 'up');
    const noop = await n.api('DELETE', '/v1/regions/eu-west/drain');
    assert.deepEqual([noop.status, noop.json.version], [200, head + 3], 'ending no drain changes nothing');
  });

  test('a drain cancelled while lowering never completes', async () => {
    // ap-southeast serves no service: the old TTL is 0 and the drain would complete after PROPAGATION_MS.
    const head = await n.head();
    const started = await n.api('POST', '/v1/regions/ap-southeast/drain', { body: {} });
    assert.equal(started.json.phase, 'lowering');
    const cancelled = await n.api('DELETE', '/v1/regions/ap-southeast/drain');
    assert.deepEqual([cancelled.json.phase, cancelled.json.version], ['none', head + 2]);
    await new Promise((r) => setTimeout(r, PROPAGATION_MS + 300));
    assert.equal((await n.api('GET', '/v1/regions/ap-southeast/drain')).json.phase, 'none');
    assert.equal(await n.head(), head + 2);
  });

  test("GET on a drain reports the connections the region's forwarders still hold (their load reports)", async () => {
    assert.equal((await n.api('GET', '/v1/regions/ap-southeast/drain')).json.forwarderConnections, null, 'no forwarder has reported');
    const report = (forwarder: string, active: number) => ({
      region: 'ap-southeast',
      forwarder,
      at: Date.now(),
      ttlMs: 60_000,
      capacity: 100,
      active,
      newPerSec: 0,
      connectFailuresPerSec: 0,
      backends: {},
    });
    await n.node.health.bus.writeLoad(report('fwd-a', 7), 60_000);
    await n.node.health.bus.writeLoad(report('fwd-b', 5), 60_000);
    assert.equal((await n.api('GET', '/v1/regions/ap-southeast/drain')).json.forwarderConnections, 12, 'both forwarders of the region add up');
    await n.node.health.bus.writeLoad({ ...report('fwd-a', 0), at: Date.now() - 120_000 }, 60_000);
    assert.equal((await n.api('GET', '/v1/regions/ap-southeast/drain')).json.forwarderConnections, 5, 'an expired report no longer counts');
  });

  test('regression: ending a drain restores the state the region had before (down stays down)', async () => {
    const region = (await n.api('GET', '/v1/regions/ap-southeast')).json;
    const { drain: _d, id: _id, ...body } = region;
    assert.equal((await n.api('PUT', '/v1/regions/ap-southeast', { body: { ...body, state: 'down' } })).status, 200);
    assert.equal((await n.api('POST', '/v1/regions/ap-southeast/drain', { body: {} })).json.phase, 'lowering');
    await n.api('DELETE', '/v1/regions/ap-southeast/drain');
    assert.equal((await n.api('GET', '/v1/regions/ap-southeast')).json.state, 'down', 'not silently brought up');
    assert.equal((await n.api('PUT', '/v1/regions/ap-southeast', { body: { ...body, state: 'up' } })).status, 200);
  });

  test('dry run, unknown region, bad TTL', async () => {
    const head = await n.head();
    const dry = await n.api('POST', '/v1/regions/eu-west/drain?dryRun=true', { body: { ttl: 1 } });
    assert.equal(dry.status, 202, dry.body);
    assert.equal(dry.json.dryRun, true);
    assert.ok(dry.json.diff.some((d: { path: string }) => d.path === '/regions/0/drain'));
    assert.equal(await n.head(), head);
    assert.equal((await n.api('GET', '/v1/regions/eu-west/drain')).json.phase, 'none');
    for (const [method, url] of [
      ['POST', '/v1/regions/nope/drain'],
      ['GET', '/v1/regions/nope/drain'],
      ['DELETE', '/v1/regions/nope/drain'],
    ] as const) {
      const r = await n.api(method, url, method === 'POST' ? { body: {} } : {});
      assert.deepEqual([r.status, r.json.error.code], [404, 'MERIDIAN_ERR_NOT_FOUND'], `${method} ${url}`);
    }
    const bad = await n.api('POST', '/v1/regions/eu-west/drain', { body: { ttl: -1 } });
    assert.deepEqual([bad.status, bad.json.error.field], [400, 'body/ttl']);
    assert.equal(await n.head(), head);
  });
});
