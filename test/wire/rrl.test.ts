/**
 * Response rate limiting through the public path: real `meridian serve` processes started from a
 * YAML `dns.rrl`, queried over real UDP sockets bound to chosen loopback sources (127.0.x.y: each
 * case uses its own /24, so the cases' accounts never meet). The figures are anchors.md B6.5:
 *
 * - after Knot's modules/rrl/test.py (rate 5, sequential UDP queries with a 150 ms timeout for 2 s,
 *   3 s for slip 2 where Knot runs 5 s: the bounds below still leave each count 3-4 times its
 *   floor): whitelisted → replied ≥ 100, slipped 0, dropped ≤ 3; slip 0 → 0 < replied < 100,
 *   slipped 0, dropped ≥ 5; slip 1 → slipped ≥ 100, dropped ≤ 3, every slip TC=1 and AA=1;
 *   slip 2 → slipped ≥ 5, dropped ≥ 5; the node's dropped/slipped metrics equal what the client
 *   saw within ±1;
 * - after BIND's rrl/ system test (responses-per-second 2, all-per-second 50, slip 3), bursts of
 *   10 sequential queries, checked with BIND's own tolerance (±1 per count: a burst that stalls
 *   half a second on a loaded machine earns one more response): TCP → 10 answered; an exempt
 *   client → 10/10; 10 distinct names → not limited; 10 random labels under a wildcard → one
 *   bucket; 10 NXDOMAIN subnames of one parent → one
 *   bucket; NODATA across qtypes → one bucket; SERVFAIL leaked at the slip rate; a second /24
 *   unaffected while another floods;
 * - the FORMERR cap (`dns.errorRateLimit`) is per /24: a flood from 127.0.7.x does not stop
 *   127.0.8.1 getting its FORMERR (one global bucket did).
 *
 * Counts only, never timing. "Dropped" is a query never answered: a reply that comes after the
 * client's 150 ms timeout (a server stalled by a loaded machine) is counted as a reply.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { decode, query, tcpExchange } from '../helpers/client.js';
import { freePort, startMeridian, type RunningServer } from '../helpers/dnsproc.js';

const Z = 'rrl.test';
const ZONE = [
  `$ORIGIN ${Z}.`,
  '$TTL 300',
  '@ SOA ns1 host 1 7200 3600 1209600 300',
  '@ NS ns1',
  'ns1 A 127.0.0.1',
  'www A 192.0.2.1',
  ...Array.from({ length: 10 }, (_, i) => `d${i} A 192.0.2.${10 + i}`),
  'nodata A 192.0.2.8',
  '*.apps A 192.0.2.9',
  'sub NS ns.sub',
  'ns.sub A 192.0.2.53',
  '',
].join('\n');

/** A service whose regions are all down, with allDown servfail: its answer is SERVFAIL. */
const ROUTING = {
  regions: [
    { id: 'dead-1', location: { lat: 0, lon: 0, continent: 'AF', country: 'GH' }, addresses: { ipv4: ['192.0.2.91'] }, state: 'down' },
    { id: 'dead-2', location: { lat: 0, lon: 0, continent: 'AF', country: 'GH' }, addresses: { ipv4: ['192.0.2.92'] }, state: 'down' },
  ],
  services: [{ name: `gone.${Z}`, regions: ['dead-1', 'dead-2'], policy: { failover: ['dead-1', 'dead-2'] }, allDown: { mode: 'servfail' } }],
};

interface Node {
  srv: RunningServer;
  metricsPort: number;
}

/** Distinct free ports, picked one after another: servers started together must not race for one. */
async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function node(rrl: Record<string, unknown>, dns: Record<string, unknown>, [dnsPort, metricsPort]: number[]): Promise<Node> {
  const srv = await startMeridian({
    zones: [{ origin: Z, text: ZONE }],
    dns: { ...dns, listen: [`127.0.0.1:${dnsPort}`], rrl },
    extra: { ...ROUTING, metrics: { listen: `127.0.0.1:${metricsPort}` } },
  });
  return { srv, metricsPort: metricsPort! };
}

async function rrlMetric(n: Node, action: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${n.metricsPort}/metrics`)).text();
  const series = `meridian_dns_rrl_responses_total{action="${action}"}`;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** A UDP client bound to one loopback source address; sequential queries, replies matched by ID. */
class Client {
  private nextId = 1;
  private readonly replies = new Map<number, Buffer>();
  private waiting: { id: number; done: () => void } | null = null;
  private readonly asked: number[] = [];

  private constructor(
    private readonly sock: dgram.Socket,
    private readonly port: number,
  ) {
    sock.on('message', (m) => {
      const id = m.readUInt16BE(0);
      this.replies.set(id, m);
      if (this.waiting?.id === id) this.waiting.done();
    });
  }

  static async open(source: string, port: number): Promise<Client> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, source, resolve));
    return new Client(sock, port);
  }

  /** Sends one query (its ID rewritten) and waits for the reply or `timeoutMs`. */
  async ask(msg: Buffer, timeoutMs = 150): Promise<void> {
    const id = this.nextId++ & 0xffff;
    const out = Buffer.from(msg);
    out.writeUInt16BE(id, 0);
    this.asked.push(id);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiting = {
        id,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.sock.send(out, this.port, '127.0.0.1');
    });
    this.waiting = null;
  }

  /** Every query asked so far, by outcome; late replies (after a timeout) have 300 ms to arrive. */
  async outcome(): Promise<{ replied: Buffer[]; slipped: Buffer[]; dropped: number }> {
    await new Promise((r) => setTimeout(r, 300));
    const got = this.asked.map((id) => this.replies.get(id));
    const answers = got.filter((m): m is Buffer => m !== undefined);
    const tc = (m: Buffer): boolean => (m.readUInt16BE(2) & 0x0200) !== 0;
    return { replied: answers.filter((m) => !tc(m)), slipped: answers.filter(tc), dropped: got.length - answers.length };
  }

  close(): void {
    this.sock.close();
  }
}

/** Sequential queries for `ms` (Knot's send_queries): the outcome counts. */
async function sendFor(source: string, port: number, ms: number, msg = query(`www.${Z}`, 'A', { edns: false })) {
  const c = await Client.open(source, port);
  try {
    const end = Date.now() + ms;
    while (Date.now() < end) await c.ask(msg);
    return await c.outcome();
  } finally {
    c.close();
  }
}

/** `msgs` one after the other from `source` (BIND's burst): the outcome counts. */
async function burst(source: string, port: number, msgs: Buffer[]) {
  const c = await Client.open(source, port);
  try {
    for (const m of msgs) await c.ask(m);
    return await c.outcome();
  } finally {
    c.close();
  }
}

const rcodeOf = (m: Buffer): number => m.readUInt16BE(2) & 0xf;
const AA = 0x0400;
const near = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) <= 1, `${what}: ${got}, want ${want} ±1`);
const counts = (o: { replied: Buffer[]; slipped: Buffer[]; dropped: number }) => `replied ${o.replied.length}, slipped ${o.slipped.length}, dropped ${o.dropped}`;

let slip0: Node, slip1: Node, slip2: Node, bind: Node;
before(async () => {
  // One node per setting, started together (a start is most of this file's time on a loaded
  // machine). slip 1's node also carries the FORMERR cap case, with RRL off for errors.
  // Each picks its ports first: two starts picking "a free port" at once got the same one (CI on Node 24).
  const ports = await distinctPorts(8);
  [slip0, slip1, slip2, bind] = await Promise.all([
    node({ responsesPerSecond: 5, slip: 0, exemptClients: ['127.0.1.0/24'] }, {}, ports.slice(0, 2)),
    node({ responsesPerSecond: 5, slip: 1, errorsPerSecond: 0 }, { errorRateLimit: 5 }, ports.slice(2, 4)),
    node({ responsesPerSecond: 5, slip: 2 }, {}, ports.slice(4, 6)),
    node({ responsesPerSecond: 2, allPerSecond: 50, slip: 3, exemptClients: ['127.0.11.7'] }, {}, ports.slice(6, 8)),
  ]);
});
after(() => Promise.all([slip0, slip1, slip2, bind].map((n) => n?.srv.stop())));

describe('RRL after Knot modules/rrl/test.py (rate 5)', () => {
  test('whitelisted client: replied ≥ 100, slipped 0, dropped ≤ 3', async () => {
    const o = await sendFor('127.0.1.1', slip0.srv.port, 2_000);
    assert.ok(o.replied.length >= 100 && o.slipped.length === 0 && o.dropped <= 3, counts(o));
    assert.equal(await rrlMetric(slip0, 'dropped'), 0);
  });

  test('slip 0: 0 < replied < 100, slipped 0, dropped ≥ 5; dropped metric ±1', async () => {
    const o = await sendFor('127.0.2.1', slip0.srv.port, 2_000);
    assert.ok(o.replied.length > 0 && o.replied.length < 100 && o.slipped.length === 0 && o.dropped >= 5, counts(o));
    near(await rrlMetric(slip0, 'dropped'), o.dropped, 'meridian_dns_rrl_responses_total{action="dropped"}');
    assert.equal(await rrlMetric(slip0, 'slipped'), 0);
  });

  test('slip 1: slipped ≥ 100, dropped ≤ 3, every slip TC=1 and AA=1 with no records; metrics ±1', async () => {
    const o = await sendFor('127.0.3.1', slip1.srv.port, 2_000);
    assert.ok(o.replied.length > 0 && o.replied.length < 100 && o.slipped.length >= 100 && o.dropped <= 3, counts(o));
    for (const m of o.slipped) {
      assert.ok(m.readUInt16BE(2) & AA, 'AA=1 on a slipped reply');
      assert.equal(rcodeOf(m), 0);
      assert.deepEqual([m.readUInt16BE(4), m.readUInt16BE(6), m.readUInt16BE(8), m.readUInt16BE(10)], [1, 0, 0, 0], 'header + question only');
    }
    near(await rrlMetric(slip1, 'slipped'), o.slipped.length, 'slipped metric');
    near(await rrlMetric(slip1, 'dropped'), o.dropped, 'dropped metric');
  });

  test('slip 2: slipped ≥ 5 and dropped ≥ 5; metrics ±1', async () => {
    const o = await sendFor('127.0.4.1', slip2.srv.port, 3_000);
    assert.ok(o.replied.length > 0 && o.replied.length < 100 && o.slipped.length >= 5 && o.dropped >= 5, counts(o));
    near(await rrlMetric(slip2, 'slipped'), o.slipped.length, 'slipped metric');
    near(await rrlMetric(slip2, 'dropped'), o.dropped, 'dropped metric');
  });

  test('the FORMERR cap is per /24: a flood from 127.0.7.x leaves 127.0.8.1 its FORMERR', async () => {
    // QDCOUNT 2 with no questions: FORMERR, header only.
    const bad = Buffer.from([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    const flood = await Client.open('127.0.7.1', slip1.srv.port);
    for (let i = 0; i < 60; i++) void flood.ask(bad, 0);
    const probe = await burst('127.0.8.1', slip1.srv.port, [bad]);
    const flooded = await flood.outcome();
    flood.close();
    assert.ok(flooded.replied.length < 60, `the flooding /24 was capped (${counts(flooded)})`);
    assert.equal(probe.replied.length, 1, 'another /24 still gets its FORMERR');
    assert.equal(rcodeOf(probe.replied[0]!), 1);
  });
});

describe('RRL after BIND rrl/ (responses-per-second 2, all-per-second 50, slip 3)', () => {
  const port = (): number => bind.srv.port;
  const same = (name: string, qtype = 'A', k = 10): Buffer[] => Array.from({ length: k }, () => query(name, qtype, { edns: false }));

  test('10 identical queries: 2 answered, 3 slipped, 5 dropped (±1)', async () => {
    const o = await burst('127.0.10.1', port(), same(`www.${Z}`));
    near(o.replied.length, 2, 'answered');
    near(o.slipped.length, 3, 'slipped');
    near(o.dropped, 5, 'dropped');
  });

  test('over TCP: 10 identical queries, 10 answered, from a /24 that UDP has exhausted', async () => {
    const udp = await burst('127.0.0.2', port(), same(`www.${Z}`));
    assert.ok(udp.dropped >= 4, `UDP from 127.0.0.0/24 is limited (${counts(udp)})`);
    const answers = await tcpExchange(port(), same(`www.${Z}`));
    assert.equal(answers.length, 10);
    for (const a of answers) assert.equal(decode(a).answers.length, 1);
  });

  test('an exempt client: 10/10, while its /24 neighbour is limited', async () => {
    const exempt = await burst('127.0.11.7', port(), same(`www.${Z}`));
    assert.equal(exempt.replied.length, 10, counts(exempt));
    const neighbour = await burst('127.0.11.8', port(), same(`www.${Z}`));
    assert.ok(neighbour.replied.length <= 3, counts(neighbour));
  });

  test('10 distinct names: not limited', async () => {
    const o = await burst(
      '127.0.12.1',
      port(),
      Array.from({ length: 10 }, (_, i) => query(`d${i}.${Z}`, 'A', { edns: false })),
    );
    assert.equal(o.replied.length, 10, counts(o));
  });

  test('10 random NXDOMAIN subnames of one parent: one bucket (2 answered, 3 TC, 5 dropped ±1)', async () => {
    const names = Array.from({ length: 10 }, () => query(`${Math.random().toString(36).slice(2)}.${Z}`, 'A', { edns: false }));
    const o = await burst('127.0.13.1', port(), names);
    near(o.replied.length, 2, 'answered');
    near(o.slipped.length, 3, 'slipped');
    near(o.dropped, 5, 'dropped');
    for (const m of [...o.replied, ...o.slipped]) assert.equal(rcodeOf(m), 3, 'NXDOMAIN, truncated or not');
  });

  test('10 random labels under a wildcard: one bucket, counted on the wildcard (2 answered, 3 TC, 5 dropped ±1)', async () => {
    const names = Array.from({ length: 10 }, () => query(`${Math.random().toString(36).slice(2)}.apps.${Z}`, 'A', { edns: false }));
    const o = await burst('127.0.23.1', port(), names);
    near(o.replied.length, 2, 'answered');
    near(o.slipped.length, 3, 'slipped');
    near(o.dropped, 5, 'dropped');
  });

  test('NODATA across qtypes: one bucket (2 AAAA, 2 TXT, 2 MX → 2 answered, 2 TC, 2 dropped ±1)', async () => {
    const o = await burst('127.0.14.1', port(), [...same(`nodata.${Z}`, 'AAAA', 2), ...same(`nodata.${Z}`, 'TXT', 2), ...same(`nodata.${Z}`, 'MX', 2)]);
    near(o.replied.length, 2, 'answered');
    near(o.slipped.length, 2, 'slipped');
    near(o.dropped, 2, 'dropped');
  });

  test('SERVFAIL is limited and leaked at the slip rate, never slipped (2 + 3 leaked answered, 5 dropped ±1)', async () => {
    const leakedBefore = await rrlMetric(bind, 'leaked');
    const o = await burst('127.0.15.1', port(), same(`gone.${Z}`));
    assert.equal(o.slipped.length, 0, counts(o));
    for (const m of o.replied) assert.equal(rcodeOf(m), 2, 'SERVFAIL');
    near(o.replied.length, 5, 'SERVFAIL answers');
    near(o.dropped, 5, 'dropped');
    near((await rrlMetric(bind, 'leaked')) - leakedBefore, 3, 'leaked metric');
  });

  test('REFUSED (a name outside every zone) is an error: leaked at the slip rate, never slipped', async () => {
    const o = await burst('127.0.19.1', port(), same('www.example.org'));
    assert.equal(o.slipped.length, 0, counts(o));
    for (const m of o.replied) assert.equal(rcodeOf(m), 5, 'REFUSED');
    near(o.replied.length, 5, 'REFUSED answers');
    near(o.dropped, 5, 'dropped');
  });

  test('a referral is limited on its delegation point: names below it share one bucket', async () => {
    const o = await burst(
      '127.0.16.1',
      port(),
      Array.from({ length: 10 }, (_, i) => query(`h${i}.sub.${Z}`, 'A', { edns: false })),
    );
    near(o.replied.length + o.slipped.length, 5, 'answered or slipped');
    near(o.dropped, 5, 'dropped');
  });

  test('another /24 is unaffected while one floods', async () => {
    const flood = await Client.open('127.0.17.1', port());
    for (let i = 0; i < 200; i++) void flood.ask(query(`www.${Z}`, 'A', { edns: false }), 0);
    const other = await burst('127.0.18.1', port(), same(`www.${Z}`, 'A', 2));
    const flooder = await flood.outcome();
    flood.close();
    assert.ok(flooder.replied.length <= 3, `the flood is cut to the limit (${counts(flooder)})`);
    assert.equal(other.replied.length, 2, counts(other));
    for (const m of other.replied) assert.equal(decode(m).answers.length, 1);
  });
});
