/**
 * In-zone CNAME chains that end at a service name (RFC 1034 §4.3.2 step 3a: an authoritative
 * server restarts the lookup at the CNAME target while it stays in the zone), through the public
 * path: a real `meridian serve` process from YAML + a zone file, queried with `dig` and `kdig`
 * over UDP and TCP with ECS subnets that the fixture geo database (geodb/test-city.mmdb) places on
 * different continents. Every answer through a CNAME must equal the direct answer of the service for
 * the same client (addresses, rcode, ECS scope), behind the CNAME records.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dig, freePort, kdig, parseDig, REPO_ROOT, startMeridian, type DigResult, type RunningServer } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const GEODB = new URL('../../geodb/test-city.mmdb', import.meta.url).pathname;
const Z = 'gslb.example.com';
const EU = '198.51.100.10';
const NA = '192.0.2.10';
const AS = '203.0.113.10';
/** 25 addresses: 25 A records fit a 512-byte answer alone, not behind a four-CNAME chain. */
const BIG = Array.from({ length: 25 }, (_, i) => `192.0.2.${100 + i}`);

const CONFIG = {
  geo: { database: GEODB },
  regions: [
    { id: 'us-east', location: { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US' }, addresses: { ipv4: [NA], ipv6: ['2001:db8:a::1'] } },
    { id: 'eu-west', location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU], ipv6: ['2001:db8:b::1'] } },
    { id: 'ap-southeast', location: { lat: 1.35, lon: 103.82, continent: 'AS', country: 'SG' }, addresses: { ipv4: [AS], ipv6: ['2001:db8:c::1'] } },
    { id: 'v4-only', location: { lat: 0, lon: 0, continent: 'EU', country: 'DE' }, addresses: { ipv4: ['192.0.2.44'] } },
    { id: 'many', location: { lat: 0, lon: 0, continent: 'EU', country: 'DE' }, addresses: { ipv4: BIG } },
    { id: 'dead-1', location: { lat: 0, lon: 0, continent: 'AF', country: 'GH' }, addresses: { ipv4: ['192.0.2.91'] }, state: 'down' },
    { id: 'dead-2', location: { lat: 0, lon: 0, continent: 'AF', country: 'GH' }, addresses: { ipv4: ['192.0.2.92'] }, state: 'down' },
  ],
  services: [
    {
      name: `www.${Z}`,
      regions: ['us-east', 'eu-west', 'ap-southeast'],
      policy: { geo: { continents: { EU: ['eu-west', 'us-east'], NA: ['us-east', 'eu-west'], AS: ['ap-southeast', 'eu-west'] }, default: ['us-east'] } },
    },
    { name: `gone.${Z}`, regions: ['dead-1', 'dead-2'], policy: { failover: ['dead-1', 'dead-2'] }, allDown: { mode: 'servfail' } },
    { name: `v4.${Z}`, regions: ['v4-only'] },
    { name: `big.${Z}`, regions: ['many'] },
  ],
};

const ZONE = `$ORIGIN ${Z}.
$TTL 300
@        SOA   ns1 hostmaster 1 7200 3600 1209600 120
@        NS    ns1
ns1      A     127.0.0.1
www      TXT   "www is a service"
api      CNAME www
alias    CNAME api
down     CNAME gone
legacy   CNAME v4
b1       CNAME b2-a-rather-long-label-to-fill-the-message-up-to-the-limit
b2-a-rather-long-label-to-fill-the-message-up-to-the-limit CNAME b3-a-rather-long-label-to-fill-the-message-up-to-the-limit
b3-a-rather-long-label-to-fill-the-message-up-to-the-limit CNAME b4-a-rather-long-label-to-fill-the-message-up-to-the-limit
b4-a-rather-long-label-to-fill-the-message-up-to-the-limit CNAME big
away     CNAME www.example.org.
`;

/** Two continents (and a third) that the fixture database places apart, with their geo scopes. */
const CLIENTS = [
  { where: 'London (EU)', subnet: '81.2.69.0/24', a: EU, aaaa: '2001:db8:b::1', scope: 24 },
  { where: 'Ashburn (NA)', subnet: '3.5.0.0/24', a: NA, aaaa: '2001:db8:a::1', scope: 10 },
  { where: 'Tokyo (AS)', subnet: '43.224.3.0/24', a: AS, aaaa: '2001:db8:c::1', scope: 20 },
];

const rr = (line: string): { owner: string; ttl: number; type: string; data: string } => {
  const [owner, ttl, , type, ...data] = line.split(/\s+/);
  return { owner: owner!, ttl: Number(ttl), type: type!, data: data.join(' ') };
};
/** The ECS scope dig printed (`; CLIENT-SUBNET: 81.2.69.0/24/24`), or null without the option. */
const digScope = (r: DigResult): number | null => {
  const o = r.opt?.options.find((l) => l.startsWith('CLIENT-SUBNET:'));
  return o ? Number(o.split('/').at(-1)) : null;
};

describe('CNAME chains into a service (real meridian serve, dig/kdig)', () => {
  let srv: RunningServer;
  const ask = async (name: string, type: string, ...flags: string[]): Promise<DigResult> =>
    parseDig(await dig(['@' + srv.host, '-p', String(srv.port), '+norec', '+tries=1', '+time=3', ...flags, `${name}.${Z}`, type]));

  before(async () => {
    srv = await startMeridian({ zones: [{ origin: Z, text: ZONE }], extra: CONFIG });
  });
  after(() => srv?.stop());

  for (const transport of ['udp', 'tcp'] as const) {
    const t = transport === 'tcp' ? ['+tcp'] : [];
    for (const c of CLIENTS) {
      for (const [type, want] of [
        ['A', c.a],
        ['AAAA', c.aaaa],
      ] as const) {
        test(`${transport}: ${type} via api and alias from ${c.where} = CNAMEs + the direct www answer, same scope`, async () => {
          const direct = await ask('www', type, `+subnet=${c.subnet}`, ...t);
          assert.equal(direct.status, 'NOERROR');
          assert.deepEqual(
            direct.answer.map((l) => rr(l).data),
            [want],
            'the direct answer is the one this client should get',
          );
          assert.equal(digScope(direct), c.scope);
          for (const [name, chain] of [
            ['api', [`api.${Z}. www.${Z}.`]],
            ['alias', [`alias.${Z}. api.${Z}.`, `api.${Z}. www.${Z}.`]],
          ] as const) {
            const r = await ask(name, type, `+subnet=${c.subnet}`, ...t);
            assert.equal(r.status, 'NOERROR', name);
            assert.ok(r.flags.includes('aa'), `${name}: authoritative`);
            const rrs = r.answer.map(rr);
            assert.deepEqual(
              rrs.filter((x) => x.type === 'CNAME').map((x) => `${x.owner} ${x.data}`),
              chain,
              `${name}: the CNAME chain first`,
            );
            const tail = rrs.filter((x) => x.type === type);
            assert.deepEqual(
              tail.map((x) => x.data),
              direct.answer.map((l) => rr(l).data),
              `${name}: the service's answer for this client`,
            );
            assert.ok(
              tail.every((x) => x.owner === `www.${Z}.` && x.ttl === rr(direct.answer[0]!).ttl),
              `${name}: owned by the service name, with its TTL`,
            );
            assert.equal(rrs.length, chain.length + tail.length);
            assert.equal(r.counts.authority, 0, `${name}: a positive answer has no SOA`);
            assert.equal(digScope(r), digScope(direct), `${name}: the ECS scope of the service's decision`);
          }
        });
      }
    }
  }

  test('the two continents get different addresses through the same CNAME', async () => {
    const eu = await ask('api', 'A', `+subnet=${CLIENTS[0]!.subnet}`);
    const na = await ask('api', 'A', `+subnet=${CLIENTS[1]!.subnet}`);
    assert.notDeepEqual(
      eu.answer.map((l) => rr(l).data),
      na.answer.map((l) => rr(l).data),
    );
  });

  test('kdig over TCP and UDP: the chain ends in the service answer for the client', async () => {
    for (const tr of ['+tcp', '+notcp']) {
      const out = await kdig(['@' + srv.host, '-p', String(srv.port), tr, '+norec', '+subnet=81.2.69.0/24', `alias.${Z}`, 'A']);
      assert.match(out, /status: NOERROR/);
      assert.match(out, new RegExp(`alias\\.${Z}\\.\\s+300\\s+IN\\s+CNAME\\s+api\\.${Z}\\.`));
      assert.match(out, new RegExp(`www\\.${Z}\\.\\s+30\\s+IN\\s+A\\s+${EU.replace(/\./g, '\\.')}`));
      assert.match(out, /CLIENT-SUBNET: 81\.2\.69\.0\/24\/24/);
    }
  });

  test('without ECS the resolver address decides and the answer carries no client-subnet option', async () => {
    const direct = await ask('www', 'A');
    const r = await ask('api', 'A');
    assert.deepEqual(r.answer.slice(1), direct.answer);
    assert.equal(digScope(r), null);
  });

  test('other types follow the chain into the zone data at the service name', async () => {
    const txt = await ask('alias', 'TXT', '+subnet=81.2.69.0/24');
    assert.equal(txt.status, 'NOERROR');
    assert.deepEqual(
      txt.answer.map((l) => rr(l).type),
      ['CNAME', 'CNAME', 'TXT'],
    );
    assert.equal(digScope(txt), 0, 'static data: scope 0');
    const mx = await ask('api', 'MX', '+subnet=81.2.69.0/24');
    assert.equal(mx.status, 'NOERROR');
    assert.deepEqual(
      mx.answer.map((l) => rr(l).type),
      ['CNAME'],
      'NODATA after the CNAME',
    );
    assert.equal(mx.authority.map((l) => rr(l).type).join(), 'SOA', 'with the SOA for negative caching');
  });

  test('ANY through the chain is what ANY at the service name gives (RFC 8482 HINFO)', async () => {
    const direct = await ask('www', 'ANY');
    const r = await ask('api', 'ANY');
    assert.equal(direct.status, 'NOERROR');
    assert.deepEqual(
      direct.answer.map((l) => rr(l).type),
      ['HINFO'],
    );
    assert.deepEqual(
      r.answer.map((l) => rr(l).type),
      ['CNAME', 'HINFO'],
    );
    assert.equal(rr(r.answer[1]!).owner, `www.${Z}.`);
  });

  test('a service with no address of the family: NODATA after the CNAME, like the direct query', async () => {
    const direct = await ask('v4', 'AAAA', '+subnet=81.2.69.0/24');
    const r = await ask('legacy', 'AAAA', '+subnet=81.2.69.0/24');
    for (const m of [direct, r]) {
      assert.equal(m.status, 'NOERROR');
      assert.equal(m.authority.map((l) => rr(l).type).join(), 'SOA');
    }
    assert.deepEqual(
      r.answer.map((l) => rr(l).type),
      ['CNAME'],
    );
    assert.equal(direct.answer.length, 0);
    assert.equal(digScope(r), digScope(direct));
    const a = await ask('legacy', 'A', '+subnet=81.2.69.0/24');
    assert.deepEqual(
      a.answer.map((l) => rr(l).data),
      [`v4.${Z}.`, '192.0.2.44'],
    );
  });

  test('a service whose all-down policy is servfail: SERVFAIL through the CNAME, as directly', async () => {
    const direct = await ask('gone', 'A', '+subnet=81.2.69.0/24');
    const r = await ask('down', 'A', '+subnet=81.2.69.0/24');
    assert.equal(direct.status, 'SERVFAIL');
    assert.equal(r.status, 'SERVFAIL');
  });

  test('truncation counts the CNAMEs: TC over UDP without EDNS, the whole chain over TCP', async () => {
    const directUdp = await ask('big', 'A', '+noedns', '+ignore');
    assert.ok(!directUdp.flags.includes('tc'), 'the service answer alone fits 512 bytes');
    assert.equal(directUdp.answer.length, BIG.length);
    const udp = await ask('b1', 'A', '+noedns', '+ignore');
    assert.ok(udp.flags.includes('tc'), 'behind four long CNAMEs it does not');
    assert.equal(udp.answer.length, 0);
    const tcp = await ask('b1', 'A', '+noedns', '+tcp');
    assert.ok(!tcp.flags.includes('tc'));
    assert.deepEqual(
      tcp.answer.map((l) => rr(l).type),
      [...Array(4).fill('CNAME'), ...Array(BIG.length).fill('A')],
    );
    assert.deepEqual(
      tcp.answer
        .slice(4)
        .map((l) => rr(l).data)
        .sort(),
      [...BIG].sort(),
    );
  });

  test('a chain that leaves the zone stops at its last in-zone CNAME, as before', async () => {
    const r = await ask('away', 'A', '+subnet=81.2.69.0/24');
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(
      r.answer.map((l) => rr(l).data),
      ['www.example.org.'],
    );
    assert.equal(digScope(r), 0);
  });

  test('meridian explain follows the CNAME chain into the service and agrees with the live answer', async () => {
    for (const c of CLIENTS.slice(0, 2)) {
      const cli = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'explain', `alias.${Z}`, '192.0.2.1', '--ecs', c.subnet, '--config', srv.configPath, '--json'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      assert.equal(cli.status, 0, cli.stderr);
      const e = JSON.parse(cli.stdout) as { service: string; name: string; cnames: string[]; addresses: string[]; scope: number; steps: string[] };
      assert.equal(e.service, `www.${Z}.`);
      assert.equal(e.name, `alias.${Z}.`);
      assert.deepEqual(e.cnames, [`alias.${Z}. CNAME api.${Z}.`, `api.${Z}. CNAME www.${Z}.`]);
      const live = await ask('alias', 'A', `+subnet=${c.subnet}`);
      assert.deepEqual(
        e.addresses,
        live.answer.slice(2).map((l) => rr(l).data),
      );
      assert.equal(e.scope, digScope(live));
      const text = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'explain', `api.${Z}`, '192.0.2.1', '--ecs', c.subnet, '--config', srv.configPath], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`cname: api\\.${Z}\\. -> www\\.${Z}\\.`));
      assert.match(text.stdout, new RegExp(`answer: .*A ${c.a.replace(/\./g, '\\.')}`));
    }
  });
});

describe('explain through a live node with an admin API follows the same chain', () => {
  let srv: RunningServer;
  let adminPort: number;
  before(async () => {
    adminPort = await freePort();
    srv = await startMeridian({ zones: [{ origin: Z, text: ZONE }], extra: { ...CONFIG, admin: { listen: `127.0.0.1:${adminPort}`, dataDir: 'data' } } });
  });
  after(() => srv?.stop());

  test('meridian explain (asking the node) and GET /v1/explain show the CNAMEs and the live answer', async () => {
    const live = parseDig(await dig(['@' + srv.host, '-p', String(srv.port), '+norec', '+subnet=3.5.0.0/24', `alias.${Z}`, 'A']));
    const cli = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'explain', `alias.${Z}`, '192.0.2.1', '--ecs', '3.5.0.0/24', '--config', srv.configPath], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /view: node API at http:\/\/127\.0\.0\.1:\d+, config version 1 \(live\)/);
    assert.match(cli.stdout, new RegExp(`service www\\.${Z}\\. A for alias\\.${Z}\\.`));
    assert.match(cli.stdout, new RegExp(`1\\. cname: alias\\.${Z}\\. -> api\\.${Z}\\.\\n\\s+2\\. cname: api\\.${Z}\\. -> www\\.${Z}\\.`));
    assert.match(cli.stdout, new RegExp(`answer: A ${NA.replace(/\./g, '\\.')}  ttl 30  ECS scope /${digScope(live)}`));
    assert.equal(rr(live.answer.at(-1)!).data, NA);
    const token = readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/explain?name=api.${Z}&ip=192.0.2.1&ecs=81.2.69.0/24`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const e = (await res.json()) as { name: string; cnames: string[]; service: string; addresses: string[]; scope: number };
    assert.deepEqual([e.name, e.cnames, e.service, e.addresses, e.scope], [`api.${Z}.`, [`api.${Z}. CNAME www.${Z}.`], `www.${Z}.`, [EU], 24]);
    const bad = await fetch(`http://127.0.0.1:${adminPort}/v1/explain?name=away.${Z}&ip=192.0.2.1`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bad.status, 404, 'a chain that does not end at a service is not explained');
  });
});
