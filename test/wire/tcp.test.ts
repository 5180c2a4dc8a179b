/**
 * DNS over TCP (RFC 7766) against a real in-process server: pipelining, TC fallback, idle and
 * per-message io timeouts (Knot tcp-idle-timeout / tcp-io-timeout), the connection cap that evicts
 * the longest-idle connection (gdnsd), and UDP service under a TCP garbage flood (anchors.md B4, B6.8).
 *
 * Time windows are deliberately loose: they check behaviour, not timer precision.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { frame, tcpExchange, udpExchange } from '../helpers/client.js';
import * as P from '../helpers/packets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const BIG = 'big.gslb.example.com';

/** A client connection that records its answers and when (ms after connect) the server closed it. */
interface Client {
  sock: net.Socket;
  answers: Buffer[];
  /** Resolves with ms since connect when the connection closes. */
  closed: Promise<number>;
  isClosed(): boolean;
  /** Resolves with the next `n` answers (or rejects after `ms`). */
  waitAnswers(n: number, ms?: number): Promise<Buffer[]>;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const answers: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let done = false;
    let t0 = 0;
    const closed = new Promise<number>((r) => sock.once('close', () => ((done = true), r(Date.now() - t0))));
    sock.on('error', () => {}); // resets after a server-side close are expected
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    sock.once('connect', () => {
      t0 = Date.now();
      resolve({
        sock,
        answers,
        closed,
        isClosed: () => done,
        async waitAnswers(n, ms = 2000) {
          const end = Date.now() + ms;
          while (answers.length < n) {
            if (Date.now() > end) throw new Error(`got ${answers.length} of ${n} answers`);
            await sleep(5);
          }
          return answers.slice(0, n);
        },
      });
    });
    sock.once('error', reject);
  });
}

/** Resolves with the close time, or null if still open after `ms`. */
const closedWithin = (c: Client, ms: number): Promise<number | null> => Promise.race([c.closed, sleep(ms).then(() => null)]);

let id = 0x4000;
const q = (f: P.QueryFields = {}): Buffer => P.query({ id: id++, rd: true, ...f });

describe('RFC 7766 pipelining and truncation (idle 1000 ms, io 300 ms)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ dns: { tcp: { idleTimeoutMs: 1000, ioTimeoutMs: 300, maxConnections: 64 } } });
  });
  after(() => srv.stop());

  it('100 pipelined queries on one connection -> 100 responses, each matched to its query by ID', async () => {
    const names = ['www.gslb.example.com', 'gslb.example.com', 'nope.gslb.example.com', 'api.gslb.example.com', BIG, 'www.example.org'];
    const types = [P.T.A, P.T.AAAA, P.T.TXT, P.T.NS, P.T.MX];
    const ids = new Set<number>();
    while (ids.size < 100) ids.add(Math.floor(Math.random() * 65536));
    const msgs = [...ids].map((i, n) => P.query({ id: i, rd: true, qname: names[n % names.length]!, qtype: types[n % types.length]! }));
    const byId = new Map(msgs.map((m) => [m.readUInt16BE(0), m]));
    const before = srv.node.responder.stats.tcp;
    const res = await tcpExchange(srv.tcpPort, msgs, { timeoutMs: 5000 });
    assert.equal(res.length, 100);
    const seen = new Set<number>();
    for (const r of res) {
      const h = P.readHeader(r);
      const sent = byId.get(h.id);
      assert.ok(sent, `response ID ${h.id} matches a query`);
      assert.ok(!seen.has(h.id), `ID ${h.id} answered once`);
      seen.add(h.id);
      assert.equal(h.qr, true);
      assert.deepEqual(P.questionBytes(r), sent.subarray(12, P.skipName(sent, 12) + 4), 'answer is for its own question');
      assert.equal(h.tc, false, 'no truncation over TCP');
    }
    assert.equal(srv.node.responder.stats.tcp - before, 100);
  });

  it('big TXT: UDP bufsize 512 -> TC=1 within 512 bytes; no EDNS -> TC=1; TCP -> all 18 TXT records', async () => {
    for (const [label, msg, limit] of [
      ['EDNS 512', q({ qname: BIG, qtype: P.T.TXT, additional: [P.opt({ udpSize: 512 })] }), 512],
      ['no EDNS', q({ qname: BIG, qtype: P.T.TXT }), 512],
      ['EDNS 1232', q({ qname: BIG, qtype: P.T.TXT, additional: [P.opt({ udpSize: 4096 })] }), 1232],
    ] as const) {
      const r = await udpExchange(srv.port, msg);
      assert.ok(r, label);
      assert.ok(r.length <= limit, `${label}: ${r.length} <= ${limit}`);
      assert.equal(P.readHeader(r).tc, true, `${label}: TC=1`);
      assert.equal(P.readHeader(r).id, msg.readUInt16BE(0));
    }
    const msg = q({ qname: BIG, qtype: P.T.TXT, additional: [P.opt({ udpSize: 512 })] });
    const [r] = await tcpExchange(srv.tcpPort, [msg]);
    assert.ok(r);
    const d = dnsPacket.decode(r);
    assert.equal(d.flag_tc, false);
    assert.equal(P.readHeader(r).rcode, P.RC.NOERROR);
    const txt = (d.answers ?? []).filter((a) => a.type === 'TXT');
    assert.equal(txt.length, 18);
    assert.ok(r.length > 1232, `full answer is ${r.length} bytes`);
  });

  it('dropped and malformed messages do not close the connection (unlike dns2): the next query is answered', async () => {
    const c = await connect(srv.tcpPort);
    const valid = q();
    const formerr = P.header({ id: 0x77, rd: true }); // QDCOUNT 0
    c.sock.write(Buffer.concat([frame(q({ qr: true })), frame(Buffer.from([1, 2, 3, 4, 5])), frame(Buffer.alloc(0)), frame(formerr), frame(valid)]));
    const [a, b] = await c.waitAnswers(2);
    assert.deepEqual([P.readHeader(a!).id, P.readHeader(a!).rcode], [0x77, P.RC.FORMERR]);
    assert.deepEqual([P.readHeader(b!).id, P.readHeader(b!).rcode], [valid.readUInt16BE(0), P.RC.NOERROR]);
    await sleep(100);
    assert.equal(c.answers.length, 2, 'the dropped messages got no answer');
    assert.equal(c.isClosed(), false);
    c.sock.destroy();
  });

  it('an idle connection is closed at the idle timeout (1000 ms), and counted', async () => {
    const before = srv.node.responder.stats.tcpTimeouts;
    const fresh = await connect(srv.tcpPort);
    const used = await connect(srv.tcpPort);
    used.sock.write(frame(q()));
    await used.waitAnswers(1);
    const answeredAt = Date.now();
    const [t1, sinceAnswer] = await Promise.all([fresh.closed, used.closed.then(() => Date.now() - answeredAt)]);
    assert.ok(t1 >= 800 && t1 <= 2500, `never-used connection closed after ${t1} ms`);
    assert.ok(sinceAnswer >= 800 && sinceAnswer <= 2500, `used connection closed ${sinceAnswer} ms after its last activity`);
    assert.ok(srv.node.responder.stats.tcpTimeouts - before >= 2);
  });

  for (const [shape, bytes] of [
    ['1 byte', Buffer.from([0])],
    ['a length prefix only', Buffer.from([0, 40])],
    ['a prefix and half a message', frame(q()).subarray(0, 20)],
  ] as const) {
    it(`slowloris: ${shape}, then silence -> closed within the io timeout (300 ms + sweep), well before idle`, async () => {
      const c = await connect(srv.tcpPort);
      c.sock.write(bytes);
      const t = await closedWithin(c, 2000);
      assert.ok(t !== null, 'closed');
      assert.ok(t >= 250 && t <= 950, `closed after ${t} ms (idle would be >= 1000)`);
      c.sock.destroy();
    });
  }

  it('pipelined stream whose chunks straddle messages (100 ms apart) is not cut by the io timeout (regression)', async () => {
    const c = await connect(srv.tcpPort);
    const msgs = Array.from({ length: 10 }, () => q());
    const stream = Buffer.concat(msgs.map(frame));
    const step = Math.ceil(stream.length / 7); // never aligned with the 40-byte frames
    for (let off = 0; off < stream.length && !c.isClosed(); off += step) {
      c.sock.write(stream.subarray(off, off + step));
      await sleep(100);
    }
    await c.waitAnswers(10, 1000);
    assert.equal(c.isClosed(), false, 'connection still open');
    c.sock.destroy();
  });

  it('UDP keeps answering all of 200 queries while 50 TCP connections flood garbage', async () => {
    const conns: (Client | null)[] = await Promise.all(Array.from({ length: 50 }, () => connect(srv.tcpPort)));
    let ticks = 0;
    let reconnects = 200; // a connection cut by the io timeout is replaced, within this budget
    let stopped = false;
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 7) & 0xff;
    const flood = setInterval(() => {
      if (++ticks > 400) return clearInterval(flood);
      conns.forEach((c, i) => {
        if (!c) return;
        if (c.isClosed()) {
          conns[i] = null;
          if (reconnects-- > 0 && !stopped)
            void connect(srv.tcpPort).then(
              (n) => (stopped ? n.sock.destroy() : (conns[i] = n)),
              () => {},
            );
          return;
        }
        // Framed garbage (parsed, then answered or dropped) followed by raw garbage (broken framing).
        const frames = Array.from({ length: 8 }, () => frame(Buffer.from(Array.from({ length: 12 + (rnd() % 200) }, rnd))));
        c.sock.write(Buffer.concat([...frames, Buffer.from(Array.from({ length: 64 }, rnd))]));
      });
    }, 5);
    try {
      const before = srv.node.responder.stats.tcp;
      let answered = 0;
      for (let batch = 0; batch < 10; batch++) {
        const res = await Promise.all(Array.from({ length: 20 }, () => udpExchange(srv.port, q(), { timeoutMs: 2000 })));
        for (const r of res) if (r && P.readHeader(r).rcode === P.RC.NOERROR && P.readHeader(r).ancount === 2) answered++;
        await sleep(40);
      }
      assert.equal(answered, 200);
      assert.ok(srv.node.responder.stats.tcp - before > 100, 'the flood really reached the server');
    } finally {
      stopped = true;
      clearInterval(flood);
      for (const c of conns) c?.sock.destroy();
    }
    const [r] = await tcpExchange(srv.tcpPort, [q()]);
    assert.equal(r && P.readHeader(r).rcode, P.RC.NOERROR, 'TCP still answers after the flood');
  });
});

describe('connection cap: maxConnections=3 evicts the longest-idle connection', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ dns: { tcp: { idleTimeoutMs: 10_000, ioTimeoutMs: 2000, maxConnections: 3 } } });
  });
  after(() => srv.stop());

  it('a 4th connection closes the longest-idle one (not the oldest) and is served', async () => {
    const stats = srv.node.responder.stats;
    const before = stats.tcpEvicted;
    const c1 = await connect(srv.tcpPort);
    await sleep(40);
    const c2 = await connect(srv.tcpPort);
    await sleep(40);
    const c3 = await connect(srv.tcpPort);
    await sleep(40);
    c1.sock.write(frame(q())); // c1 is the oldest but now the most recently active: c2 is longest idle
    await c1.waitAnswers(1);
    await sleep(40);
    const c4 = await connect(srv.tcpPort);
    assert.notEqual(await closedWithin(c2, 1000), null, 'longest-idle connection closed');
    assert.equal(stats.tcpEvicted - before, 1);
    await sleep(100);
    assert.equal(c1.isClosed() || c3.isClosed() || c4.isClosed(), false, 'the others stay open');
    c4.sock.write(frame(q()));
    const [a4] = await c4.waitAnswers(1);
    assert.equal(P.readHeader(a4!).rcode, P.RC.NOERROR);
    c1.sock.write(frame(q()));
    await c1.waitAnswers(2);
    for (const c of [c1, c3, c4]) c.sock.destroy();
  });
});

describe('slow but legitimate sender (io timeout 2000 ms)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ dns: { tcp: { idleTimeoutMs: 5000, ioTimeoutMs: 2000, maxConnections: 8 } } });
  });
  after(() => srv.stop());

  it('a query written 1 byte at a time, 8 ms apart, is answered', async () => {
    const c = await connect(srv.tcpPort);
    const msg = q({ qname: 'WwW.gslb.example.com' });
    const framed = frame(msg);
    for (const byte of framed) {
      c.sock.write(Buffer.from([byte]));
      await sleep(8);
    }
    const [a] = await c.waitAnswers(1);
    assert.equal(P.readHeader(a!).id, msg.readUInt16BE(0));
    assert.equal(P.readHeader(a!).rcode, P.RC.NOERROR);
    assert.deepEqual(P.questionBytes(a!), msg.subarray(12), 'question (case kept) echoed');
    assert.equal(c.isClosed(), false);
    c.sock.destroy();
  });
});
