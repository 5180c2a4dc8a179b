/**
 * Address parsing and formatting, checked against tables and against Node's own parsers
 * (node:net for validity, the WHATWG URL serializer for canonical IPv6 text).
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { addressBytes } from '../../geodb/mmdb-writer.js';
import { formatIPv4, formatIPv6, isIpv4Mapped, parseAddress } from './address.js';

const parse = (s: string): string | null => {
  const out = new Uint8Array(16);
  const f = parseAddress(s, out);
  return f === 0 ? null : Buffer.from(out.subarray(0, f === 4 ? 4 : 16)).toString('hex');
};

test('parseAddress: valid and invalid text', () => {
  const cases: Array<[string, string | null]> = [
    ['0.0.0.0', '00000000'],
    ['192.0.2.1', 'c0000201'],
    ['255.255.255.255', 'ffffffff'],
    ['::', '0'.repeat(32)],
    ['::1', '0'.repeat(31) + '1'],
    ['1::', '0001' + '0'.repeat(28)],
    ['2001:db8::1', '20010db8' + '0'.repeat(23) + '1'],
    ['2001:DB8:0:0:8:800:200C:417A', '20010db8000000000008080020 0c417a'.replace(' ', '')],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['fe80::1%eth0', 'fe80' + '0'.repeat(27) + '1'],
    ['fe80::1%br_lan', 'fe80' + '0'.repeat(27) + '1'],
    ['1:2:3:4:5:6:7::', '0001000200030004000500060007' + '0000'],
    ['', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['1.2.3.256', null],
    ['01.2.3.4', null],
    ['1..2.3', null],
    ['1.2.3.4 ', null],
    ['a.b.c.d', null],
    [':::', null],
    ['1:::2', null],
    ['1::2::3', null],
    ['12345::', null],
    ['1:2:3:4:5:6:7:8:9', null],
    ['1:2:3:4:5:6:7', null],
    ['1:2:3:4:5:6:7:8::', null],
    ['::1:2:3:4:5:6:7:8', null],
    ['1:', null],
    [':1', null],
    ['::g', null],
    ['::1.2.3', null],
    ['::1.2.3.4:5', null],
    ['1:2:3:4:5:6:7:1.2.3.4', null],
    ['fe80::1%', null],
    ['%eth0', null],
  ];
  for (const [text, hex] of cases) assert.equal(parse(text), hex, JSON.stringify(text));
});

// Zones (`%eth0`) are left out: they are ignored here, and any text is accepted as one (interface
// names such as `br_lan` that node:net's pattern would refuse do occur in socket addresses).
test('parseAddress accepts exactly what node:net accepts (random text from address characters)', () => {
  const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.:::....'.split(''));
  fc.assert(
    fc.property(
      fc.array(chars, { maxLength: 40 }).map((a) => a.join('')),
      (s) => {
        assert.equal(parse(s) !== null, isIP(s) !== 0, JSON.stringify(s));
      },
    ),
    { numRuns: 3000 },
  );
});

test('formatIPv6 is canonical (RFC 5952, as the URL serializer writes it) and parses back', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    // Runs of zero groups, where the `::` choice is made.
    fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xdb8), { minLength: 8, maxLength: 8 }).map((g) => {
      const b = new Uint8Array(16);
      g.forEach((x, i) => ((b[i * 2] = x >> 8), (b[i * 2 + 1] = x & 0xff)));
      return b;
    }),
  );
  fc.assert(
    fc.property(bytes, (b) => {
      const text = formatIPv6(b);
      assert.equal(parse(text), Buffer.from(b).toString('hex'), text);
      if (!isIpv4Mapped(b)) assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1), text);
      assert.ok(Buffer.from(addressBytes(text)).equals(Buffer.from(b)), text);
    }),
    { numRuns: 2000 },
  );
});

test('formatIPv6 masks to the prefix and writes IPv4-mapped addresses with a dotted quad', () => {
  const b = addressBytes('2001:db8:1:1ff:ffff::1');
  assert.equal(formatIPv6(b, 56), '2001:db8:1:100::');
  assert.equal(formatIPv6(b, 0), '::');
  assert.equal(formatIPv6(b, 128), '2001:db8:1:1ff:ffff::1');
  assert.equal(formatIPv6(addressBytes('::ffff:2.16.32.200'), 121), '::ffff:2.16.32.128');
  assert.equal(formatIPv6(addressBytes('1:0:0:2:0:0:0:3')), '1:0:0:2::3');
  assert.equal(formatIPv6(addressBytes('1:0:0:2:0:0:3:4')), '1::2:0:0:3:4');
  assert.equal(formatIPv6(addressBytes('1:0:2:3:4:5:6:7')), '1:0:2:3:4:5:6:7');
});

test('formatIPv4 round-trips', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => {
      const t = formatIPv4(a);
      assert.equal(parse(t), a.toString(16).padStart(8, '0'), t);
    }),
  );
});
