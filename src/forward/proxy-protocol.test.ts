/**
 * PROXY protocol v1/v2: byte-exact encodings against the examples of the HAProxy spec, v2 round
 * trips with TLVs, and every way a v2 header can be cut or lie about its lengths.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeV2, encodeV1, encodeV2, MAX_V2_HEADER, meridianTlv, parseMeridianTlv, V2_SIGNATURE, type ProxyAddresses } from './proxy-protocol.js';

const V4: ProxyAddresses = { sourceAddress: '192.0.2.7', sourcePort: 51234, destAddress: '198.51.100.10', destPort: 443 };
const V6: ProxyAddresses = { sourceAddress: '2001:db8::7', sourcePort: 40000, destAddress: '2001:db8:2::10', destPort: 8443 };

describe('PROXY v1', () => {
  const table: [string, ProxyAddresses, string][] = [
    ['IPv4', V4, 'PROXY TCP4 192.0.2.7 198.51.100.10 51234 443\r\n'],
    ['IPv6', V6, 'PROXY TCP6 2001:db8::7 2001:db8:2::10 40000 8443\r\n'],
    ['v4-mapped source on a dual-stack socket is IPv4', { ...V4, sourceAddress: '::ffff:192.0.2.7', destAddress: '::ffff:198.51.100.10' }, 'PROXY TCP4 192.0.2.7 198.51.100.10 51234 443\r\n'],
    ['mixed families are written as IPv6', { ...V4, destAddress: '2001:db8::1' }, 'PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 51234 443\r\n'],
    ['not an IP', { ...V4, sourceAddress: '' }, 'PROXY UNKNOWN\r\n'],
  ];
  for (const [name, a, want] of table) it(name, () => assert.equal(encodeV1(a).toString('latin1'), want));
});

describe('PROXY v2', () => {
  it('IPv4 header, byte for byte', () => {
    const h = encodeV2(V4);
    assert.deepEqual(h.subarray(0, 12), V2_SIGNATURE);
    assert.deepEqual([...h.subarray(12)], [0x21, 0x11, 0, 12, 192, 0, 2, 7, 198, 51, 100, 10, 0xc8, 0x22, 0x01, 0xbb]);
  });

  it('IPv6 header, byte for byte', () => {
    const h = encodeV2(V6);
    assert.equal(h.length, 16 + 36);
    assert.deepEqual([...h.subarray(12, 16)], [0x21, 0x21, 0, 36]);
    assert.equal(h.subarray(16, 32).toString('hex'), '20010db8000000000000000000000007');
    assert.equal(h.readUInt16BE(48), 40000);
  });

  it('non-IP addresses give a LOCAL header without addresses', () => {
    const h = encodeV2({ ...V4, sourceAddress: 'unix' });
    assert.deepEqual([...h.subarray(12)], [0x20, 0x00, 0, 0]);
    const d = decodeV2(h);
    assert.ok(d.ok && d.header.command === 'local' && d.header.addresses === null);
  });

  it('round-trips addresses and TLVs; the stream after the header is untouched', () => {
    for (const a of [V4, V6, { ...V6, sourceAddress: '::1', destAddress: 'fe80::1:2' }]) {
      const tlvs = [meridianTlv('web'), { type: 0x02, value: Buffer.from('api.example.com') }];
      const h = encodeV2(a, tlvs);
      const d = decodeV2(Buffer.concat([h, Buffer.from('GET /')]));
      assert.ok(d.ok);
      assert.deepEqual(d.header.addresses, a);
      assert.deepEqual(d.header.tlvs, tlvs);
      assert.equal(d.header.length, h.length);
      assert.deepEqual(parseMeridianTlv(d.header.tlvs), { listener: 'web', hops: 1 });
    }
  });

  it('every proper prefix is incomplete, never an error', () => {
    const h = encodeV2(V6, [meridianTlv('web')]);
    for (let n = 0; n < h.length; n++) assert.deepEqual(decodeV2(h.subarray(0, n)), { ok: false, incomplete: true }, `prefix ${n}`);
  });

  const broken: [string, (h: Buffer) => Buffer, RegExp][] = [
    ['wrong signature', (h) => Buffer.concat([Buffer.from('PROXY TCP4 '), h]), /not a PROXY v2 header/],
    ['version 1 nibble', (h) => ((h[12] = 0x11), h), /PROXY version 1/],
    ['command 2', (h) => ((h[12] = 0x22), h), /command 2/],
    ['unknown family', (h) => ((h[13] = 0x51), h), /address family/],
    ['IPv4 block shorter than 12', (h) => (h.writeUInt16BE(8, 14), h), /IPv4 block truncated/],
    ['TLV overruns the header', (h) => (h.writeUInt16BE(h.readUInt16BE(14) - 1, 14), h), /TLV overruns|TLV truncated/],
    ['declared length over the cap', (h) => (h.writeUInt16BE(MAX_V2_HEADER, 14), h), /over 4096/],
  ];
  for (const [name, mutate, reason] of broken) {
    it(`rejects: ${name}`, () => {
      const d = decodeV2(mutate(Buffer.from(encodeV2(V4, [meridianTlv('web')]))));
      assert.ok(!d.ok && !d.incomplete, JSON.stringify(d));
      assert.match(d.reason, reason);
    });
  }

  it('the Meridian TLV is refused with another version or when missing', () => {
    const t = meridianTlv('web');
    t.value[0] = 9;
    assert.equal(parseMeridianTlv([t]), null);
    assert.equal(parseMeridianTlv([{ type: 0x02, value: Buffer.from('x') }]), null);
  });

  it('random bytes after a valid signature never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const d = decodeV2(Buffer.concat([V2_SIGNATURE, Buffer.from(bytes)]));
        assert.ok(d.ok || typeof d.incomplete === 'boolean');
      }),
      { numRuns: 2_000 },
    );
  });
});
