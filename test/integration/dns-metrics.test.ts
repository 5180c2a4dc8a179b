/**
 * The DNS metrics of issue 18 as a scraper sees them: a real `meridian serve` (one DNS process, then
 * `--workers 2`), real UDP queries, /metrics over HTTP. Queries by QTYPE, ECS present/absent,
 * decision-cache results, answers by service and region, the sampled answer-latency histogram;
 * with two workers the page sums the workers' series to the same totals. Label values are only
 * configured names and fixed words, never what a client sent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, query, udpExchange } from '../helpers/client.js';
import { freePort, startMeridian } from '../helpers/dnsproc.js';
import { samples } from '../helpers/role.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'mx.example';
const ZONE = `$ORIGIN ${Z}.\n$TTL 60\n@ IN SOA ns1 host 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n@ IN MX 10 www\n@ IN TXT "v=x"\n`;
const REGIONS = [
  { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } },
  { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.10'] } },
];
const SERVICES = [{ name: `svc.${Z}`, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }];

/** What the test sends: [name, type, ECS subnet or none], each from its own socket (so both workers get some). */
const QUERIES: [string, string, string?][] = [
  // 40 service queries from 20 client /24s, each /24 twice: the second of each pair can hit.
  ...Array.from({ length: 40 }, (_, i): [string, string, string] => [`svc.${Z}`, 'A', `203.0.${i % 20}.0/24`]),
  ...Array.from({ length: 10 }, (): [string, string] => [`svc.${Z}`, 'A']),
  ...Array.from({ length: 6 }, (): [string, string] => [`www.${Z}`, 'A']),
  [Z, 'MX'],
  [Z, 'MX'],
  [Z, 'TXT'],
  [`client-chosen-name.${Z}`, 'SPF'],
  [`client-chosen-name.${Z}`, 'TYPE4242'],
];
const TOTAL = QUERIES.length;

async function run(workers: number): Promise<string> {
  const metricsPort = await freePort();
  const node = await startMeridian({
    zones: [{ origin: Z, text: ZONE }],
    command: [process.execPath, ...MERIDIAN_ENTRY, 'serve', '--config', '{config}', '--workers', String(workers)],
    extra: { metrics: { listen: `127.0.0.1:${metricsPort}` }, regions: REGIONS, services: SERVICES },
  });
  try {
    for (let i = 0; i < QUERIES.length; i += 10) {
      const batch = QUERIES.slice(i, i + 10);
      const replies = await Promise.all(batch.map(([name, type, ecs]) => udpExchange(node.port, query(name, type, ecs ? { ecs } : {}), { timeoutMs: 2000 })));
      replies.forEach((r, j) => assert.ok(r, `an answer to ${batch[j]!.join(' ')}`));
      if (batch[0]![0] === `svc.${Z}`) for (const r of replies) assert.equal(decode(r!).answers.find((a) => a.type === 'A')?.data, '192.0.2.10');
    }
    return await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  } finally {
    await node.stop();
  }
}

function checkPage(page: string, workers: number): void {
  const requests = samples(page, 'meridian_dns_requests_total');
  assert.equal(requests.get('{qtype="A"}'), 56);
  assert.equal(requests.get('{qtype="MX"}'), 2);
  assert.equal(requests.get('{qtype="TXT"}'), 1);
  assert.equal(requests.get('{qtype="other"}'), 2, 'SPF and TYPE4242 are "other"');
  assert.equal(
    [...requests.values()].reduce((a, b) => a + b, 0),
    TOTAL,
  );
  assert.deepEqual(Object.fromEntries(samples(page, 'meridian_dns_ecs_queries_total')), { '{ecs="present"}': 40, '{ecs="absent"}': TOTAL - 40 });
  const cache = samples(page, 'meridian_dns_decision_cache_total');
  assert.equal(
    [...cache.values()].reduce((a, b) => a + b, 0),
    50,
    `one decision per service query: ${JSON.stringify([...cache])}`,
  );
  // Failover decides the same for every client (scope 0), so it is kept per /16: two client /16s
  // (203.0 by ECS, the resolver's 127.0), each decided once per process that saw it.
  assert.ok(cache.get('{result="miss"}')! >= 2 && cache.get('{result="miss"}')! <= 2 * workers, `misses: ${cache.get('{result="miss"}')}`);
  assert.deepEqual(Object.fromEntries(samples(page, 'meridian_dns_service_answers_total')), { [`{service="svc.${Z}",region="us-east"}`]: 50 });
  const count = samples(page, 'meridian_dns_answer_duration_seconds_count').get('')!;
  // One query in 16 is timed, counted per process.
  assert.ok(count <= Math.floor(TOTAL / 16) && count >= Math.floor(TOTAL / 16) - (workers - 1), `timed answers: ${count} of ${TOTAL}`);
  const buckets = [...samples(page, 'meridian_dns_answer_duration_seconds_bucket')];
  assert.equal(buckets.at(-1)![0], '{le="+Inf"}');
  assert.equal(buckets.at(-1)![1], count);
  assert.ok(
    buckets.every(([, v], i) => i === 0 || v >= buckets[i - 1]![1]),
    'cumulative buckets',
  );
  assert.doesNotMatch(page, /client-chosen-name|SPF|TYPE4242/, 'no label value a client chose');
}

describe('DNS metrics through /metrics', () => {
  test('one DNS process', async () => {
    checkPage(await run(1), 1);
  });

  test('serve --workers 2: the page sums both workers to the same totals', async () => {
    const page = await run(2);
    const byWorker = [...samples(page, 'meridian_dns_worker_queries_total').values()];
    assert.equal(byWorker.length, 2);
    assert.ok(
      byWorker.every((n) => n > 0),
      `both workers answered some: ${JSON.stringify(byWorker)}`,
    );
    checkPage(page, 2);
    for (const name of ['meridian_dns_requests_total', 'meridian_dns_answer_duration_seconds'])
      assert.equal(page.split('\n').filter((l) => l === `# TYPE ${name} ${name.endsWith('total') ? 'counter' : 'histogram'}`).length, 1, `${name} once`);
  });
});
