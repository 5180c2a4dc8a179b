/**
 * What Meridian reports says what happened (issue 13, defect 6), each checked through the public
 * path against what a client sees:
 * - `meridian explain`, text and `--json`, with and without `--ecs`, against a running
 *   `meridian serve`'s reply to the same query: an ECS scope is shown only when the reply carries
 *   one, and it is the reply's.
 * - `meridian_geo_reloads_total{result="failed"}` (the name src/geo/README.md documents) after a
 *   reload of a corrupt database file.
 * - `meridian_dns_responses_total{rcode="FORMERR"}` counts the FORMERR responses a client
 *   received over UDP, and `meridian_dns_errors_rate_limited_total{rcode="FORMERR"}` the ones the
 *   error-response rate limit kept back.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import dgram from 'node:dgram';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { decode, udpExchange, type DecodedMsg } from '../helpers/client.js';
import { freePort, REPO_ROOT, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const GEODB = readFileSync(join(REPO_ROOT, 'geodb/test-city.mmdb'));

const ROUTING = {
  geo: { database: 'geo.mmdb' },
  regions: [
    { id: 'us-east', location: { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } },
    { id: 'eu-west', location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.10'] } },
  ],
  services: [{ name: `www.${Z}`, regions: ['us-east', 'eu-west'], policy: { geo: { continents: { EU: ['eu-west'], NA: ['us-east'] }, default: [['us-east', 'eu-west']] } } }],
};

let srv: RunningServer;
let metricsPort: number;
before(async () => {
  metricsPort = await freePort();
  srv = await startMeridian({
    zones: [{ origin: Z, text: ZONE }],
    dns: { errorRateLimit: 5 },
    files: { 'geo.mmdb': GEODB },
    extra: { ...ROUTING, metrics: { listen: `127.0.0.1:${metricsPort}` } },
  });
});
after(() => srv?.stop());

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no series ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

function query(ecs?: string): Buffer {
  const options = ecs === undefined ? [] : [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: Number(ecs.split('/')[1]), scopePrefixLength: 0, ip: ecs.split('/')[0] }];
  return dnsPacket.encode({ type: 'query', id: 99, questions: [{ type: 'A', name: `www.${Z}` }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options } as never] });
}

/** The reply's ECS scope, or null when it carries no client-subnet option. */
function ecsScope(m: DecodedMsg): number | null {
  const opt = m.additionals.find((a) => a.type === 'OPT') as { options?: { code: number; scopePrefixLength: number }[] } | undefined;
  return opt?.options?.find((o) => o.code === 8)?.scopePrefixLength ?? null;
}

async function explainCli(ecs: string | undefined, json: boolean): Promise<string> {
  const args = [...MERIDIAN_ENTRY, 'explain', `www.${Z}`, '127.0.0.1', '--config', srv.configPath, ...(ecs !== undefined ? ['--ecs', ecs] : []), ...(json ? ['--json'] : [])];
  return (await promisify(execFile)(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' })).stdout;
}

describe('meridian explain says what the reply carries', () => {
  // 81.2.69.0/24 is a /24 network in the fixture database (GB): the decision's scope is 24.
  for (const ecs of [undefined, '81.2.69.0/24', '0.0.0.0/0']) {
    test(ecs === undefined ? 'a query without ECS' : `a query with ECS ${ecs}`, async () => {
      const live = decode((await udpExchange(srv.port, query(ecs)))!);
      const replyScope = ecsScope(live);
      const [jsonText, text] = await Promise.all([explainCli(ecs, true), explainCli(ecs, false)]);
      const json = JSON.parse(jsonText) as { addresses: string[]; ecs: string | null; scope: number };
      assert.deepEqual(
        json.addresses,
        live.answers.map((a) => a.data),
      );
      assert.equal(json.ecs, ecs ?? null, 'JSON: the ECS option the query carried');
      assert.equal(json.scope, replyScope ?? 0, "JSON scope: the reply's");
      // Every mention of an ECS scope in the text, steps included, is the reply's scope.
      const claimed = [...text.matchAll(/ECS scope \/(\d+)/g)].map((m) => Number(m[1]));
      if (replyScope === null) {
        assert.deepEqual(claimed, [], `the reply has no ECS option, yet the text says:\n${text}`);
        assert.match(text, /^answer: A \S+ {2}ttl \d+ {2}no ECS \(none in the query, none in the reply\)$/m);
      } else {
        assert.ok(claimed.length > 0 && claimed.every((c) => c === replyScope), `the reply's scope is /${replyScope}; the text says:\n${text}`);
      }
    });
  }
});

test('a geo reload of a corrupt file is meridian_geo_reloads_total{result="failed"}, as documented', async () => {
  const documented = /`meridian_geo_reloads_total\{result="ok"\\\|"(\w+)"\}`/.exec(readFileSync(join(REPO_ROOT, 'src/geo/README.md'), 'utf8'));
  assert.equal(documented?.[1], 'failed', 'src/geo/README.md documents the label');
  const file = join(srv.dir, 'geo.mmdb');
  writeFileSync(`${file}.tmp`, Buffer.concat([GEODB.subarray(0, 4096), Buffer.alloc(4096, 0x5a)]));
  renameSync(`${file}.tmp`, file);
  process.kill(srv.pid, 'SIGHUP');
  const deadline = Date.now() + 10_000;
  while (!srv.output().includes('geo database reload rejected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.match(srv.output(), /geo database reload rejected/);
  const text = await metrics();
  assert.equal(metric(text, 'meridian_geo_reloads_total{result="failed"}'), 1);
  assert.equal(metric(text, 'meridian_geo_reloads_total{result="ok"}'), 0);
  assert.doesNotMatch(text, /meridian_geo_reloads_total\{result="rejected"\}/);
  // The running database still answers.
  const live = decode((await udpExchange(srv.port, query('81.2.69.0/24')))!);
  assert.deepEqual(
    live.answers.map((a) => a.data),
    ['198.51.100.10'],
  );
});

test('FORMERR responses are counted when sent; those the rate limit kept back are counted apart', async () => {
  const sentBefore = metric(await metrics(), 'meridian_dns_responses_total{rcode="FORMERR"}');
  const sock = dgram.createSocket('udp4');
  let received = 0;
  sock.on('message', (m) => {
    if ((m[3]! & 0xf) === 1) received++;
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  // A header with QDCOUNT 0 is FORMERR (src/dns/README.md); 40 of them in one burst, limit 5/s.
  const bad = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
  for (let i = 0; i < 40; i++) sock.send(bad, srv.port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 500));
  sock.close();
  const now = await metrics();
  assert.ok(received >= 5 && received < 40, `the limit let ${received} through`);
  assert.equal(metric(now, 'meridian_dns_responses_total{rcode="FORMERR"}') - sentBefore, received, 'responses_total counts the FORMERR answers the client got');
  // Nothing else of this file sends FORMERR-causing packets, so the rate-limited count is this burst's.
  assert.equal(metric(now, 'meridian_dns_errors_rate_limited_total{rcode="FORMERR"}'), 40 - received, 'the rest are counted as rate limited');
  assert.equal(metric(now, 'meridian_dns_errors_rate_limited_total{rcode="NOTIMP"}'), 0);
});
