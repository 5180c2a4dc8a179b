/**
 * A region's `forwarder:` block is judged against the whole config it is written into (issue 16,
 * point 5, the bind rules): in embedded mode the forwarders run inside `meridian serve`, so a relay
 * or listen override on another region's socket, on one of the node's own sockets (DNS, admin API,
 * metrics) or on an address no listener can bind (broadcast, multicast, link-local) would stop the
 * node at its next start. The API refuses each with a coded 400 naming the field; `meridian check`
 * gives the same rules as coded lines. And a block whose socket cannot be bound for a reason no
 * rule can know (a port another process holds) never stops the node: its forwarder runs without
 * that socket, logged once with the code and counted, and DNS answers.
 * Real processes: `meridian serve` with the admin API and an embedded store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_SECRET, clusterNodeOf, SERVICE, usEast, ZONE, type ClusterNode } from '../helpers/cluster.js';
import { freePort, startMeridian, type StartOptions } from '../helpers/dnsproc.js';
import { metric, portOf } from '../helpers/role.js';
import { yamlFixture } from './helpers.js';

const CODE = 'MERIDIAN_ERR_INVALID_FORWARDER';
const ZONE_TEXT = `$ORIGIN ${ZONE}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;

describe('forwarder blocks: the bind rules against the whole config (embedded forwarders)', () => {
  const port = { admin: 0, metrics: 0, r1Web: 0, r1Relay: 0, r2Web: 0 };
  let dir = '';
  let options: StartOptions;
  let node: ClusterNode | null = null;
  let held: Server | null = null;

  before(async () => {
    for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'meridian-fwd-binds-'));
    const token = { name: 'ops', role: 'admin', sha256: createHash('sha256').update(ADMIN_SECRET).digest('hex') };
    options = {
      dir,
      zones: [{ origin: ZONE, text: ZONE_TEXT }],
      readyTimeoutMs: 60_000,
      extra: {
        admin: { listen: `127.0.0.1:${port.admin}`, tokens: [token] },
        metrics: { listen: `127.0.0.1:${port.metrics}` },
        regions: [
          { id: 'r1', ...usEast('192.0.2.10'), forwarder: { relay: `127.0.0.1:${port.r1Relay}`, listen: { web: `127.0.0.1:${port.r1Web}` } } },
          { id: 'r2', ...usEast('192.0.2.20'), forwarder: { listen: { web: `127.0.0.1:${port.r2Web}` } } },
        ],
        services: [{ name: SERVICE, ttl: 30, regions: ['r1', 'r2'], policy: { failover: ['r1', 'r2'] } }],
        forward: { listeners: [{ name: 'web', service: SERVICE, listen: '127.0.0.1:0' }], embedded: ['r1', 'r2'], drainDeadlineMs: 0 },
      },
    };
    node = clusterNodeOf(await startMeridian(options), port.admin);
  });
  after(async () => {
    await node?.stop().catch(() => undefined);
    held?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const head = async (): Promise<number> => (await node!.api('GET', '/v1/versions?limit=1')).body[0].version as number;

  it('the API refuses a relay or listen on a socket the process binds, or on an address no listener can bind', async () => {
    const version = await head();
    const current = (await node!.api('GET', '/v1/regions/r2')).body as Record<string, unknown>;
    const good = current.forwarder as Record<string, unknown>;
    const dns = node!.proc.port;
    const relay = '/regions/1/forwarder/relay';
    const web = '/regions/1/forwarder/listen/web';
    const cases: [string, Record<string, unknown>, string][] = [
      ["relay on region r1's relay (same process)", { ...good, relay: `127.0.0.1:${port.r1Relay}` }, relay],
      ["listen on region r1's listener", { listen: { web: `127.0.0.1:${port.r1Web}` } }, web],
      ["listen on region r1's relay, wildcard host", { listen: { web: `0.0.0.0:${port.r1Relay}` } }, web],
      ["relay on the node's metrics port", { ...good, relay: `127.0.0.1:${port.metrics}` }, relay],
      ["relay on the node's admin port", { ...good, relay: `127.0.0.1:${port.admin}` }, relay],
      ["relay on the node's DNS port", { ...good, relay: `127.0.0.1:${dns}` }, relay],
      ['relay on a wildcard host of the admin port', { ...good, relay: `0.0.0.0:${port.admin}` }, relay],
      ['relay on the broadcast address', { ...good, relay: '255.255.255.255:9000' }, relay],
      ['relay on a multicast address', { ...good, relay: '224.0.0.1:9000' }, relay],
      ['relay on the metadata address (link-local)', { ...good, relay: '169.254.169.254:9000' }, relay],
      ['listen on a multicast address', { listen: { web: '224.0.0.1:9000' } }, web],
      ['listen on an IPv6 link-local address', { listen: { web: '[fe80::1]:9000' } }, web],
    ];
    for (const [what, forwarder, field] of cases) {
      const res = await node!.api('PUT', '/v1/regions/r2', { ...current, forwarder });
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.equal(res.body.error.code, CODE, what);
      assert.equal(res.body.error.field, field, `${what}: ${res.text}`);
      assert.match(res.body.error.message, /^MERIDIAN_ERR_INVALID_FORWARDER: region r2: forwarder\./, what);
    }
    assert.equal(await head(), version, 'no new version');
  });

  it('a stored block whose relay cannot be bound does not stop the node: DNS answers, logged once and counted', async () => {
    // A port another process holds: no rule can know it, the API takes it, the bind fails at start.
    held = createServer();
    await new Promise<void>((r) => held!.listen(0, '127.0.0.1', r));
    const current = (await node!.api('GET', '/v1/regions/r2')).body as Record<string, unknown>;
    const res = await node!.api('PUT', '/v1/regions/r2', { ...current, forwarder: { ...(current.forwarder as object), relay: `127.0.0.1:${portOf(held)}` } });
    assert.equal(res.status, 200, res.text);
    await node!.stop();
    node = null;
    node = clusterNodeOf(await startMeridian(options), port.admin);
    assert.equal(await node.answer(), '192.0.2.10', 'DNS answers after the restart');
    const logged = node.logs().filter((l) => l.code === CODE);
    assert.equal(logged.length, 1, JSON.stringify(logged));
    assert.equal(logged[0]!.region, 'r2');
    assert.equal(logged[0]!.field, 'forwarder.relay');
    assert.equal(await metric(port.metrics, 'meridian_config_forwarder_rejected_total{region="r2"}'), 1);
  });
});

describe('forwarder blocks in the YAML: the bind rules in meridian check', () => {
  const Z = 'gslb.example.com';
  const YAML = `zones: [{ origin: ${Z}, file: zone }]
metrics: { listen: "127.0.0.1:9153" }
services:
  - { name: www.${Z}, regions: [a, b] }
regions:
  - id: a
    location: { lat: 1, lon: 1, continent: EU, country: DE }
    addresses: { ipv4: [192.0.2.1] }
    forwarder: { relay: "127.0.0.1:9153" }
  - id: b
    location: { lat: 2, lon: 2, continent: NA, country: US }
    addresses: { ipv4: [192.0.2.2] }
    forwarder:
      listen: { web: "169.254.169.254:80" }
forward:
  listeners: [{ name: web, service: www.${Z}, listen: "127.0.0.1:0" }]
  embedded: [a, b]
`;
  const { file, lineOf, run, cleanup } = yamlFixture(YAML);
  after(cleanup);

  it('one coded line per problem at its file:line, exit 1', () => {
    const r = run('check', '--config', file);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      `${file}:${lineOf('relay: "127.0.0.1:9153"')}: ${CODE}: region a: forwarder.relay: 127.0.0.1:9153 is also where the metrics listener binds (127.0.0.1:9153)`,
      `${file}:${lineOf('listen: { web: "169.254.169.254:80" }')}: ${CODE}: region b: forwarder.listen.web: 169.254.169.254 is link-local (169.254.0.0/16): no listener can bind it`,
    ]);
  });
});
