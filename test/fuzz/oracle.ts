/**
 * Properties every answer of the responder must have, whatever the input (anchors.md B6 item 2):
 * a drop, or a well-formed response with the query's ID, QR=1, the query's opcode and RD, at most
 * one question (byte-identical to the query's), a valid structure (dns-packet decodes it, and our
 * own walk finds no overrun, trailing bytes or second OPT), never SERVFAIL (an internal fault), and a
 * size within the transport limit over UDP: 512 bytes without OPT, else the client's advertised size
 * clamped to [512, 1232].
 */
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import * as P from '../helpers/packets.js';

export const KNOWN_RCODES = new Set([P.RC.NOERROR, P.RC.FORMERR, P.RC.NXDOMAIN, P.RC.NOTIMP, P.RC.REFUSED, P.RC.NOTAUTH, P.RC.BADVERS]);

export function checkResponse(msg: Uint8Array, res: Buffer | null, transport: 'udp' | 'tcp'): void {
  if (res === null) return;
  const q = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  assert.ok(q.length >= 12, 'a message shorter than a header is never answered');
  const h = P.readHeader(res);
  const sent = P.readHeader(q);
  assert.equal(h.id, sent.id, 'ID copied');
  assert.equal(h.qr, true, 'QR=1');
  assert.equal(sent.qr, false, 'a message with QR=1 is never answered');
  assert.equal(h.opcode, sent.opcode, 'opcode copied');
  assert.equal(h.rd, sent.rd, 'RD copied');
  assert.ok(h.qdcount <= 1, 'at most one question');
  if (h.qdcount === 1) {
    const qb = P.questionBytes(res);
    assert.deepEqual(qb, q.subarray(12, 12 + qb.length), 'question echoed byte for byte');
  }
  const o = P.readOpt(res); // throws on overrun, trailing bytes or a second OPT
  if (o) {
    assert.equal(o.version, 0, 'our OPT is version 0');
    assert.ok(
      o.options.every((x) => x.code === 8),
      'only client-subnet is ever echoed',
    );
  }
  const rcode = ((o?.extRcode ?? 0) << 4) | h.rcode;
  assert.ok(KNOWN_RCODES.has(rcode as never), `rcode ${rcode} (SERVFAIL means an internal fault)`);
  const limit = transport === 'tcp' ? 65535 : o ? Math.max(512, Math.min(1232, firstOptSize(q) ?? 1232)) : 512;
  assert.ok(res.length <= limit, `${res.length} bytes > ${limit} over ${transport}`);
  if (transport === 'tcp') assert.equal(h.tc, false, 'no TC over TCP');
  assert.doesNotThrow(() => dnsPacket.decode(res), 'dns-packet decodes the response');
}

/** The UDP size advertised by the query's first OPT record, or null when none can be found. */
export function firstOptSize(q: Buffer): number | null {
  try {
    const h = P.readHeader(q);
    let off = P.skipName(q, 12) + 4;
    for (let i = 0; i < h.arcount && off + 11 <= q.length; i++) {
      off = P.skipName(q, off);
      if (off + 10 > q.length) return null;
      if (q.readUInt16BE(off) === P.T.OPT) return q.readUInt16BE(off + 2);
      off += 10 + q.readUInt16BE(off + 8);
    }
  } catch {
    // not walkable: no size known
  }
  return null;
}

/** Collects unhandled promise rejections (a test fails if any arrive) until dispose(). */
export function trackUnhandled(): { errors: unknown[]; dispose(): void } {
  const errors: unknown[] = [];
  const onRejection = (e: unknown): void => void errors.push(e);
  process.on('unhandledRejection', onRejection);
  return {
    errors,
    dispose: () => void process.off('unhandledRejection', onRejection),
  };
}
