/**
 * `meridian status` against a real `meridian serve` (embedded mode: the node is its own probe
 * vantage) (issue 18): the config version it answers from, every region's live health as the node
 * sees it and what decided it, and each endpoint's votes (up/down of the live vantages, with the
 * vantage's RTT or error). What it shows is what DNS does: the region whose endpoint is down is not
 * in the answers; an override shows as the decider. `--json` is GET /v1/status and GET /v1/health.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { cli, expectOk, type CliRun } from '../helpers/cli.js';
import { EU, FAST_PROBES, region, US, Z, ZONE } from '../helpers/gslb.js';
import { dig, freePort } from '../helpers/dnsproc.js';
import { acceptor, portOf, until } from '../helpers/role.js';

describe('meridian status: every region’s live health as the node sees it, with the votes', () => {
  let node: ApiNode;
  let backend: Server;
  const meridian = (args: string[]): Promise<CliRun> => cli([...args, '--config', node.configPath]);
  const pool = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(node.port), '+short', `pool.${Z}`, 'A'])).trim().split('\n').sort().join(',');

  before(async () => {
    backend = await acceptor();
    const closed = await freePort();
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        health: FAST_PROBES,
        regions: [
          region('us-east', 'NA', 'US', US, portOf(backend)),
          // Nothing listens on its endpoint: the node's probe sees it down, so is the region.
          region('eu-west', 'EU', 'IE', EU, closed),
          region('ap-south', 'AS', 'IN', '203.0.113.10'),
        ],
        services: [{ name: `pool.${Z}`, ttl: 1, regions: ['us-east', 'eu-west'], policy: { weighted: {}, multivalue: { max: 2 } } }],
      },
    });
    await until(async () => (await pool()) === US, 15_000, 'eu-west probed down: only us-east answered');
  });
  after(async () => {
    await node?.stop();
    backend?.close();
  });

  test('a table of regions and one of endpoints with each vantage’s vote', async () => {
    const r = expectOk(await meridian(['status']));
    const lines = r.stdout.split('\n');
    assert.match(r.stdout, new RegExp(`^node:\\s+http://127\\.0\\.0\\.1:${node.apiPort}$`, 'm'));
    assert.match(r.stdout, /^config:\s+answers from version 1; file store, head version 1$/m);
    assert.match(r.stdout, /^vantages:\s+1 live: embedded$/m);
    assert.ok(lines.some((l) => /^REGION\s+HEALTH\s+DECIDED BY\s+ENDPOINTS UP\s+OVERRIDE$/.test(l)));
    assert.ok(
      lines.some((l) => /^us-east\s+up\s+probes\s+1\/1\s+-$/.test(l)),
      r.stdout,
    );
    assert.ok(
      lines.some((l) => /^eu-west\s+down\s+probes\s+0\/1\s+-$/.test(l)),
      r.stdout,
    );
    assert.ok(
      lines.some((l) => /^ap-south\s+up\s+empty\s+0\/0\s+-$/.test(l)),
      r.stdout,
    );
    assert.ok(lines.some((l) => /^ENDPOINT\s+HEALTH\s+DECIDED BY\s+VOTES UP\/DOWN\s+VANTAGES$/.test(l)));
    assert.ok(
      lines.some((l) => /^us-east\/web-1\s+up\s+probes\s+1\/0 of 1\s+embedded: up \d+ms$/.test(l)),
      r.stdout,
    );
    assert.ok(
      lines.some((l) => /^eu-west\/web-1\s+down\s+probes\s+0\/1 of 1\s+embedded: down \(.*ECONNREFUSED.*\)$/.test(l)),
      r.stdout,
    );
  });

  test('--json: the node’s status and health report, as the API gives them', async () => {
    const r = expectOk(await meridian(['status', '--json']));
    const { api, status, health } = JSON.parse(r.stdout);
    assert.equal(api, `http://127.0.0.1:${node.apiPort}`);
    assert.deepEqual(status, (await node.api('GET', '/v1/status')).json);
    const live = (await node.api('GET', '/v1/health')).json;
    const shape = (h: { regions: { id: string; state: string; endpoints: { id: string; state: string; votes: { vantage: string; status: string }[] }[] }[] }) =>
      h.regions.map((g) => [g.id, g.state, g.endpoints.map((e) => [e.id, e.state, e.votes.map((v) => `${v.vantage}:${v.status}`)])]);
    assert.deepEqual(shape(health), shape(live));
    assert.deepEqual(
      health.vantages.map((v: { vantage: string }) => v.vantage),
      ['embedded'],
    );
  });

  test('an override shows as what decided, with its author and reason', async () => {
    expectOk(await meridian(['override', 'set', 'region/eu-west', 'up', '--reason', 'false alarm', '--for', '1h']));
    await until(async () => (await pool()) === [US, EU].sort().join(), 10_000, 'eu-west answered under the override');
    const r = expectOk(await meridian(['status']));
    assert.match(r.stdout, /^eu-west\s+up\s+override\s+0\/1\s+up by bootstrap until \S+Z: false alarm$/m);
  });
});
