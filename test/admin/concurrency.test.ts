/**
 * Optimistic concurrency over real HTTP: 100 parallel writers each read a counter (a region's
 * weight) with its ETag and write counter + 1 with If-Match, re-reading on 412. A lost update would
 * leave the counter short of +100; every accepted write must be exactly one version. In embedded
 * mode all writers share one node; in cluster mode they are split over two nodes on one Redis, so
 * the store's compare-and-set is what keeps them apart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { dnsQuery, startAdminNode, Z, type AdminNode } from './helpers.js';

const WRITERS = 100;

interface Outcome {
  stale: number;
}

/** One writer: GET (ETag) → PUT weight + 1 with If-Match → on 412 read again. */
async function increment(port: number, secret: string): Promise<Outcome> {
  const auth = { authorization: `Bearer ${secret}` };
  let stale = 0;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const got = await fetch(`http://127.0.0.1:${port}/v1/regions/us-east`, { headers: auth });
    assert.equal(got.status, 200);
    const etag = got.headers.get('etag')!;
    const { weight } = (await got.json()) as { weight: number };
    const put = await fetch(`http://127.0.0.1:${port}/v1/regions/us-east/weight?reason=writer`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json', 'if-match': etag },
      body: JSON.stringify({ weight: weight + 1 }),
    });
    const body = (await put.json()) as { version?: number; error?: { code: string } };
    if (put.status === 200) {
      assert.equal(put.headers.get('etag'), `"${body.version}"`);
      return { stale };
    }
    assert.equal(put.status, 412, JSON.stringify(body));
    assert.equal(body.error?.code, 'MERIDIAN_ERR_PRECONDITION_FAILED');
    stale++;
    // Exponential backoff with full jitter, as a well-behaved client would: it keeps the retries
    // (and the test's run time) from growing with the square of the number of writers.
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 20 * 2 ** stale)));
  }
  throw new Error('a writer never got its change in');
}

async function run(nodes: AdminNode[], secret: string): Promise<void> {
  const first = nodes[0]!;
  const head = await first.head();
  const start = (await first.api('GET', '/v1/regions/us-east')).json.weight as number;
  const outcomes = await Promise.all(Array.from({ length: WRITERS }, (_, i) => increment(nodes[i % nodes.length]!.httpPort, secret)));

  assert.equal(await first.head(), head + WRITERS, 'exactly one version per writer');
  for (const n of nodes) assert.equal((await n.api('GET', '/v1/regions/us-east')).json.weight, start + WRITERS, 'no lost update');
  const versions = (await first.api('GET', `/v1/versions?limit=${WRITERS + 1}`)).json as { version: number; action: string; reason: string }[];
  assert.deepEqual(
    versions.slice(0, WRITERS).map((v) => v.version),
    Array.from({ length: WRITERS }, (_, i) => head + WRITERS - i),
  );
  assert.ok(versions.slice(0, WRITERS).every((v) => v.action === 'region.weight' && v.reason === 'writer'));
  assert.equal(versions[WRITERS]!.version, head, 'nothing else was committed');
  // Each version moved the counter by exactly one: no two writers wrote the same value.
  for (let v = head + 1; v <= head + WRITERS; v++) {
    const rec = (await first.api('GET', `/v1/versions/${v}`)).json as { diff: { path: string; before: number; after: number }[] };
    assert.deepEqual(
      rec.diff.map((d) => [d.path, d.after - d.before]),
      [['/regions/1/weight', 1]],
      `version ${v}`,
    );
  }
  const stale = outcomes.reduce((s, o) => s + o.stale, 0);
  console.log(`# ${WRITERS} writers over ${nodes.length} node(s): ${stale} stale writes retried`);
  assert.ok(stale > 0, 'the writers did collide (otherwise this test proves nothing)');
  // Every node answers from the last version.
  for (const n of nodes) await n.applied(head + WRITERS);
}

describe('100 parallel writers over HTTP, embedded mode (file store)', () => {
  let n: AdminNode;
  before(async () => {
    n = await startAdminNode();
  });
  after(() => n?.stop());

  test('exactly 100 new versions and the counter is +100', () => run([n], n.secret));
});

const skip = redisSkipReason();

describe('100 parallel writers over HTTP, cluster mode (two nodes, one Redis store)', { skip }, () => {
  let redis: TestRedis;
  const nodes: AdminNode[] = [];
  before(async () => {
    redis = await startRedis();
    const extra = { health: { redisUrl: redis.url } };
    const a = await startAdminNode({ extra, admin: { store: 'redis' } });
    nodes.push(a);
    // The second node finds the first one's bootstrap token in the store and creates none.
    nodes.push(await startAdminNode({ extra, admin: { store: 'redis' }, secret: a.secret }));
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await redis?.stop();
  });

  test('both nodes see one store and one history', async () => {
    for (const n of nodes) {
      const s = (await n.api('GET', '/v1/status')).json;
      assert.deepEqual([s.store, s.head], ['redis', 1]);
    }
    const tokens = (await nodes[1]!.api('GET', '/v1/tokens')).json;
    assert.deepEqual(
      tokens.map((t: { name: string }) => t.name),
      ['bootstrap'],
    );
  });

  test('exactly 100 new versions and the counter is +100', () => run(nodes, nodes[0]!.secret));

  test("Redis gone: reads from the node's version, writes 503 MERIDIAN_ERR_STORE_UNAVAILABLE, and DNS keeps answering", async () => {
    const [a] = nodes;
    const before = await dnsQuery(a!.port, `www.${Z}`);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1100)); // past the token cache
    const read = await a!.api('GET', '/v1/config');
    assert.equal(read.status, 200, read.body);
    assert.equal(read.json.version, a!.node.follower!.version, 'the version the node answers from');
    assert.equal(read.headers['x-meridian-store'], 'unreachable');
    const write = await a!.api('PUT', '/v1/regions/us-east/weight', { body: { weight: 1 } });
    assert.deepEqual([write.status, write.json?.error?.code], [503, 'MERIDIAN_ERR_STORE_UNAVAILABLE'], write.body);
    assert.match(write.json.error.message, /config store \(redis\) is unreachable/);
    assert.deepEqual(await dnsQuery(a!.port, `www.${Z}`), before);
  });
});
