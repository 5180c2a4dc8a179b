/**
 * Dry runs must not block DNS (issue 17, defect 2). A real `meridian serve` with a few hundred
 * services gets two concurrent dry runs, each comparing a 1,000-address sample (a weight change and
 * an override, both touching a region every service uses), while a UDP client plays ping-pong with
 * the DNS listener: one query outstanding, the next sent when the answer arrives. What is counted
 * is what the node's event loop did while the dry runs were in flight, not how long anything took:
 * a loop busy with the comparison answers no query until it is done (a handful of answers slip
 * through between the two requests' steps), a loop that hands it to a worker answers hundreds.
 *
 * A second case counts work: a change that touches one region compares only the services that use
 * it (the reply's `compared`), and the lookup cap cuts a comparison and says so.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { decode, query } from '../helpers/client.js';
import { ADDRESSES, REGIONS, SAMPLE, sharedServices, Z, ZONE } from '../helpers/dryrun-fixture.js';

const SERVICES = 40;
/** admin.dryRunMaxLookups: room for 10 services × 1,000 clients × 2 families, fewer than the 39 a shared region's change touches. */
const MAX_LOOKUPS = 20_000;
// Every service but the last shares eu-west and us-east by weight; the last one alone uses `lone`.
const services = [...sharedServices(SERVICES - 1), { name: `solo.${Z}`, ttl: 30, regions: ['lone', 'ap-southeast'], policy: { failover: ['lone', 'ap-southeast'] } }];
const HALF = ADDRESSES.slice(0, 500).join(',');

/** A UDP client with one query outstanding at a time, the next 2 ms after an answer; `answers` counts replies received. */
function pingPong(port: number): { readonly answers: number; stop(): void } {
  const sock = dgram.createSocket('udp4');
  let answers = 0;
  let stopped = false;
  let id = 0;
  const send = (): void => {
    // A pause's timer can fire after stop(): sending on the closed socket would throw.
    if (stopped) return;
    id = (id + 1) & 0xffff;
    sock.send(query(`s1.${Z}`, 'A', { id }), port, '127.0.0.1');
  };
  sock.on('message', (msg) => {
    if (decode(msg).id !== id) return;
    answers++;
    // A short pause leaves the CPU to the node and its dry-run worker on a loaded machine.
    if (!stopped) setTimeout(send, 2);
  });
  // A lost datagram would stall the ping-pong: re-send the current query now and then.
  const resend = setInterval(send, 200);
  sock.bind(0, '127.0.0.1', send);
  return {
    get answers() {
      return answers;
    },
    stop() {
      stopped = true;
      clearInterval(resend);
      sock.close();
    },
  };
}

describe('dry runs and the DNS event loop', () => {
  let node: ApiNode;
  before(async () => {
    node = await startMeridianWithApi({ zones: [{ origin: Z, text: ZONE }], extra: { regions: REGIONS, services }, admin: { dryRunMaxLookups: MAX_LOOKUPS, dryRunQueue: 4 } });
  });
  after(async () => {
    await node?.stop();
  });

  test('DNS keeps answering while two dry runs with a 1,000-address sample compare every service', async () => {
    const pp = pingPong(node.port);
    try {
      // Warm: the ping-pong runs before the dry runs start.
      while (pp.answers < 20) await new Promise((r) => setTimeout(r, 10));
      const start = pp.answers;
      const [weight, override] = await Promise.all([
        node.api('PUT', `/v1/regions/eu-west/weight?dryRun=true&sample=${SAMPLE}`, { weight: 7 }),
        node.api('PUT', `/v1/overrides/region/us-east?dryRun=true&sample=${SAMPLE}`, { state: 'down', reason: 'rehearsal' }),
      ]);
      const during = pp.answers - start;
      assert.equal(weight.status, 200, weight.text);
      assert.equal(override.status, 200, override.text);
      // Hundreds of answers while the comparison runs elsewhere; a blocked loop gives a handful.
      assert.ok(during >= 100, `DNS answers received while the dry runs were in flight: ${during}`);
      // Both touch every service but `solo`: the cap lets 10 of them be compared for the whole sample, and says so.
      for (const r of [weight, override]) {
        const { changed, ...counts } = r.json.answers;
        assert.deepEqual(counts, { source: 'request', clients: 1000, compared: 20_000, services: { compared: 10, unchanged: 1, cut: SERVICES - 11 }, truncated: true }, `${changed.length} changed`);
      }
      assert.ok(override.json.answers.changed.length > 0, 'the override moves answers');
    } finally {
      pp.stop();
    }
  });

  test("a change of one region compares only the services that use it (the reply's count of lookups)", async () => {
    const weight = await node.api('PUT', `/v1/regions/lone/weight?dryRun=true&sample=${SAMPLE}`, { weight: 3 });
    assert.equal(weight.status, 200, weight.text);
    const { changed, ...counts } = weight.json.answers;
    assert.deepEqual(counts, { source: 'request', clients: 1000, compared: 2000, services: { compared: 1, unchanged: SERVICES - 1, cut: 0 }, truncated: false });
    // One region in the failover list: its weight moves no answer.
    assert.deepEqual(changed, []);
    const down = await node.api('PUT', '/v1/overrides/region/lone?dryRun=true&sample=8.8.8.8,2001:db8::1', { state: 'down', reason: 'rehearsal' });
    assert.equal(down.status, 200, down.text);
    assert.deepEqual([down.json.answers.compared, down.json.answers.services], [4, { compared: 1, unchanged: SERVICES - 1, cut: 0 }]);
    const moved = down.json.answers.changed.filter((c: { qtype: string }) => c.qtype === 'A');
    assert.deepEqual(
      moved.map((c: { service: string; before: { addresses: string[] }; after: { addresses: string[] } }) => [c.service, c.before.addresses, c.after.addresses]),
      [
        [`solo.${Z}.`, ['192.0.2.99'], ['203.0.113.10']],
        [`solo.${Z}.`, ['192.0.2.99'], ['203.0.113.10']],
      ],
    );
  });

  // Eight arrive together while the worker runs the first (a few hundred milliseconds at least): four
  // wait, the rest are refused at once.
  test('dry runs past admin.dryRunQueue are refused with 503 MERIDIAN_ERR_DRY_RUN_BUSY, and change nothing', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => node.api('PUT', `/v1/overrides/region/us-east?dryRun=true&sample=${HALF}`, { state: 'down', reason: 'rehearsal' })));
    const busy = replies.filter((r) => r.status === 503);
    assert.ok(busy.length >= 1, `statuses ${replies.map((r) => r.status)}`);
    assert.ok(replies.filter((r) => r.status === 200).length >= 5, `statuses ${replies.map((r) => r.status)}`);
    for (const r of busy) assert.equal(r.json.error.code, 'MERIDIAN_ERR_DRY_RUN_BUSY');
    assert.equal(replies.length, busy.length + replies.filter((r) => r.status === 200).length);
    assert.deepEqual((await node.api('GET', '/v1/overrides')).json, []);
  });
});
