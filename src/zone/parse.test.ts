import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseZoneText } from './parse.js';
import type { ParsedRecord, RData } from './types.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const O = 'example.com.';
function r(line: number, name: string, ttl: number, rdata: RData): ParsedRecord {
  return { name, ttl, type: rdata.type === 'generic' ? rdata.code : rdata.type, rdata, line };
}
const A = (address: string): RData => ({ type: 1, address });

interface Case {
  name: string;
  text: string;
  origin?: string;
  defaultTtl?: number;
  /** Expected records, exactly; omitted = not checked. */
  records?: ParsedRecord[];
  /** Expected errors as [line, substring of reason], in order; omitted = none. */
  errors?: Array<[number, string]>;
}

const cases: Case[] = [
  // ---- names, owners, TTL and class ----
  {
    name: '@, relative and absolute owners; TTL and class in either order',
    text: '$TTL 300\n@ IN A 192.0.2.1\nwww 60 IN A 192.0.2.2\nWWW.Example.COM. IN 70 A 192.0.2.3\nx A 192.0.2.4',
    records: [r(2, O, 300, A('192.0.2.1')), r(3, `www.${O}`, 60, A('192.0.2.2')), r(4, `www.${O}`, 70, A('192.0.2.3')), r(5, `x.${O}`, 300, A('192.0.2.4'))],
  },
  {
    name: 'blank owner repeats the previous owner, also after a directive',
    text: '$TTL 300\nwww A 192.0.2.1\n  A 192.0.2.2\n$TTL 60\n\tAAAA 2001:DB8::1',
    records: [r(2, `www.${O}`, 300, A('192.0.2.1')), r(3, `www.${O}`, 300, A('192.0.2.2')), r(5, `www.${O}`, 60, { type: 28, address: '2001:DB8::1' })],
  },
  {
    name: '$ORIGIN absolute and relative, and rdata names completed with it',
    text: '$TTL 1\n$ORIGIN sub.example.com.\nx CNAME y\n$ORIGIN deeper\n@ NS ns1.other.net.',
    records: [r(3, `x.sub.${O}`, 1, { type: 5, target: `y.sub.${O}` }), r(5, `deeper.sub.${O}`, 1, { type: 2, target: 'ns1.other.net.' })],
  },
  {
    name: 'origin option without trailing dot, mixed case',
    text: '$TTL 5\n@ A 192.0.2.1',
    origin: 'Example.COM',
    records: [r(2, O, 5, A('192.0.2.1'))],
  },
  {
    name: 'root origin',
    text: '$TTL 5\ncom. NS a.gtld.\nx NS y',
    origin: '.',
    records: [r(2, 'com.', 5, { type: 2, target: 'a.gtld.' }), r(3, 'x.', 5, { type: 2, target: 'y.' })],
  },
  {
    name: '$TTL and record TTLs with BIND units',
    text: '$TTL 1h\na A 192.0.2.1\nb 1w2d3h4m5s A 192.0.2.2\n$ttl 2D\nc A 192.0.2.3',
    records: [r(2, `a.${O}`, 3600, A('192.0.2.1')), r(3, `b.${O}`, 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5, A('192.0.2.2')), r(5, `c.${O}`, 172800, A('192.0.2.3'))],
  },
  {
    name: 'defaultTtl option applies without $TTL; $TTL overrides it',
    text: 'a A 192.0.2.1\n$TTL 9\nb A 192.0.2.2',
    defaultTtl: 42,
    records: [r(1, `a.${O}`, 42, A('192.0.2.1')), r(3, `b.${O}`, 9, A('192.0.2.2'))],
  },
  {
    name: 'multi-line SOA in parentheses with comments; SOA minimum as fallback TTL',
    text: ['@ IN SOA ns1 Host.Master.example.com. ( ; open', '    1      ; serial', '    2h     ; refresh', '    3600 4w', '    300 )  ; minimum', 'www A 192.0.2.1'].join('\n'),
    records: [
      r(1, O, 300, {
        type: 6,
        mname: `ns1.${O}`,
        rname: 'host.master.example.com.',
        serial: 1,
        refresh: 7200,
        retry: 3600,
        expire: 2419200,
        minimum: 300,
      }),
      r(6, `www.${O}`, 300, A('192.0.2.1')),
    ],
  },
  {
    name: 'CRLF line endings and comment-only lines',
    text: '; header\r\n$TTL 300\r\n\r\n  ; indented comment\r\nwww A 192.0.2.1 ; trailing\r\n',
    records: [r(5, `www.${O}`, 300, A('192.0.2.1'))],
  },
  // ---- rdata types ----
  {
    name: 'NS, CNAME, PTR, MX, SRV (root target), HINFO, AAAA',
    text: ['$TTL 1', '@ NS ns1', 'c CNAME Target.Example.NET.', '1 PTR host', '@ MX 0 mail', '_s._tcp SRV 1 2 65535 .', 'h HINFO "Intel i9" linux', 'v6 AAAA ::ffff:192.0.2.1'].join('\n'),
    records: [
      r(2, O, 1, { type: 2, target: `ns1.${O}` }),
      r(3, `c.${O}`, 1, { type: 5, target: 'target.example.net.' }),
      r(4, `1.${O}`, 1, { type: 12, target: `host.${O}` }),
      r(5, O, 1, { type: 15, preference: 0, exchange: `mail.${O}` }),
      r(6, `_s._tcp.${O}`, 1, { type: 33, priority: 1, weight: 2, port: 65535, target: '.' }),
      r(7, `h.${O}`, 1, { type: 13, cpu: b('Intel i9'), os: b('linux') }),
      r(8, `v6.${O}`, 1, { type: 28, address: '::ffff:192.0.2.1' }),
    ],
  },
  {
    name: 'TXT: several strings, unquoted words, escapes, ; inside quotes, empty string',
    text: '$TTL 1\nt TXT "a b" word "q\\"uote" "back\\\\slash" "\\065\\066" "semi;colon" ""\nu TXT ( "split"\n "lines" )',
    records: [
      r(2, `t.${O}`, 1, {
        type: 16,
        strings: [b('a b'), b('word'), b('q"uote'), b('back\\slash'), b('AB'), b('semi;colon'), b('')],
      }),
      r(3, `u.${O}`, 1, { type: 16, strings: [b('split'), b('lines')] }),
    ],
  },
  {
    name: 'TXT with non-ASCII text is UTF-8',
    text: '$TTL 1\nt TXT "héllo"',
    records: [r(2, `t.${O}`, 1, { type: 16, strings: [Buffer.from('héllo', 'utf8')] })],
  },
  {
    name: 'CAA quoted and unquoted values',
    text: '$TTL 1\n@ CAA 0 issue "letsencrypt.org; validationmethods=dns-01"\n@ CAA 128 iodef mailto:x@example.com',
    records: [
      r(2, O, 1, { type: 257, flags: 0, tag: 'issue', value: b('letsencrypt.org; validationmethods=dns-01') }),
      r(3, O, 1, { type: 257, flags: 128, tag: 'iodef', value: b('mailto:x@example.com') }),
    ],
  },
  {
    name: 'RFC 3597 generic form: unknown types stay generic, known types are decoded',
    text: [
      '$TTL 1',
      'g TYPE999 \\# 3 ABcd ef',
      'e TYPE65535 \\# 0',
      'a A \\# 4 C0000201',
      'a TYPE1 192.0.2.2',
      'm MX \\# 12 000a 046d61696c 03636f6d 00',
      'v6 TYPE28 \\# 16 20010db8000000000000000000000001',
      't TXT \\# 6 0161 03626364',
    ].join('\n'),
    records: [
      r(2, `g.${O}`, 1, { type: 'generic', code: 999, data: Buffer.from('abcdef', 'hex') }),
      r(3, `e.${O}`, 1, { type: 'generic', code: 65535, data: Buffer.alloc(0) }),
      r(4, `a.${O}`, 1, A('192.0.2.1')),
      r(5, `a.${O}`, 1, A('192.0.2.2')),
      r(6, `m.${O}`, 1, { type: 15, preference: 10, exchange: 'mail.com.' }),
      r(7, `v6.${O}`, 1, { type: 28, address: '2001:db8::1' }),
      r(8, `t.${O}`, 1, { type: 16, strings: [b('a'), b('bcd')] }),
    ],
  },
  // ---- errors ----
  { name: 'unknown type', text: '$TTL 1\nx FOO 1', errors: [[2, 'unknown record type "FOO"']] },
  { name: 'missing type', text: '$TTL 1\nx 300 IN', errors: [[2, 'missing record type']] },
  { name: 'meta type in zone data', text: '$TTL 1\nx AXFR', errors: [[2, 'not allowed in zone data']] },
  { name: 'TYPE0', text: '$TTL 1\nx TYPE0 \\# 0', errors: [[2, 'bad record type "TYPE0"']] },
  { name: 'too few fields', text: '$TTL 1\nx MX 10', errors: [[2, 'MX needs 2 rdata fields, got 1']] },
  { name: 'no rdata', text: '$TTL 1\nx A', errors: [[2, 'A needs 1 rdata field, got 0']] },
  { name: 'TXT without strings', text: '$TTL 1\nx TXT', errors: [[2, 'TXT needs at least 1']] },
  { name: 'trailing garbage', text: '$TTL 1\nx A 192.0.2.1 junk', errors: [[2, 'trailing garbage "junk"']] },
  { name: 'trailing garbage after $TTL', text: '$TTL 1 2', errors: [[1, 'trailing garbage "2" after $TTL']] },
  { name: 'bad IPv4', text: '$TTL 1\nx A 300.1.2.3', errors: [[2, 'bad IPv4 address "300.1.2.3"']] },
  { name: 'IPv4 with leading zero', text: '$TTL 1\nx A 01.2.3.4', errors: [[2, 'bad IPv4 address']] },
  { name: 'bad IPv6', text: '$TTL 1\nx AAAA 2001:db8::g', errors: [[2, 'bad IPv6 address "2001:db8::g"']] },
  { name: 'scoped IPv6', text: '$TTL 1\nx AAAA fe80::1%eth0', errors: [[2, 'MERIDIAN_ERR_INVALID_ADDRESS: AAAA "fe80::1%eth0" is a scoped IPv6 address']] },
  { name: 'broadcast A', text: '$TTL 1\nx A 255.255.255.255', errors: [[2, 'MERIDIAN_ERR_INVALID_ADDRESS: A "255.255.255.255" is the broadcast address']] },
  { name: 'multicast A', text: '$TTL 1\nx A 239.1.2.3', errors: [[2, 'MERIDIAN_ERR_INVALID_ADDRESS: A "239.1.2.3" is multicast (224.0.0.0/4)']] },
  { name: 'unspecified A', text: '$TTL 1\nx A 0.0.0.0', errors: [[2, 'MERIDIAN_ERR_INVALID_ADDRESS: A "0.0.0.0" is the unspecified']] },
  { name: 'multicast AAAA', text: '$TTL 1\nx AAAA ff05::2', errors: [[2, 'MERIDIAN_ERR_INVALID_ADDRESS: AAAA "ff05::2" is multicast (ff00::/8)']] },
  { name: 'unspecified AAAA', text: '$TTL 1\nx AAAA ::', errors: [[2, 'MERIDIAN_ERR_INVALID_ADDRESS: AAAA "::" is the unspecified address']] },
  { name: 'IPv4 in AAAA', text: '$TTL 1\nx AAAA 192.0.2.1', errors: [[2, 'bad IPv6 address']] },
  { name: 'MX preference u16', text: '$TTL 1\nx MX 65536 m', errors: [[2, 'MX preference must be 0-65535']] },
  { name: 'MX preference not a number', text: '$TTL 1\nx MX -1 m', errors: [[2, 'MX preference must be 0-65535']] },
  { name: 'SRV port u16', text: '$TTL 1\nx SRV 1 1 70000 t', errors: [[2, 'SRV port must be 0-65535']] },
  { name: 'SOA serial u32', text: '@ 1 SOA a b 4294967296 1 1 1 1', errors: [[1, 'SOA serial must be 0-4294967295']] },
  { name: 'SOA refresh u32', text: '@ 1 SOA a b 1 4294967296 1 1 1', errors: [[1, 'SOA refresh must be 0-4294967295']] },
  { name: 'CAA flags u8', text: '$TTL 1\n@ CAA 256 issue x', errors: [[2, 'CAA flags must be 0-255']] },
  { name: 'CAA bad tag', text: '$TTL 1\n@ CAA 0 is-sue x', errors: [[2, 'bad CAA tag "is-sue"']] },
  { name: 'TTL too large', text: 'x 2147483648 A 192.0.2.1', errors: [[1, 'TTL must be 0-2147483647']] },
  { name: 'TTL max is fine', text: 'x 2147483647 A 192.0.2.1', records: [r(1, `x.${O}`, 2147483647, A('192.0.2.1'))] },
  { name: 'bad $TTL', text: '$TTL 1x', errors: [[1, 'bad TTL "1x"']] },
  { name: 'bad record TTL', text: 'x 5q IN A 192.0.2.1', errors: [[1, 'bad TTL "5q"']] },
  { name: '$TTL units overflow', text: '$TTL 100000w', errors: [[1, 'TTL must be 0-2147483647']] },
  { name: 'label > 63 bytes', text: `$TTL 1\n${'a'.repeat(64)} A 192.0.2.1`, errors: [[2, 'longer than 63 bytes']] },
  { name: 'label of 63 is fine', text: `$TTL 1\n${'a'.repeat(63)} A 192.0.2.1`, errors: [] },
  {
    name: 'name > 255 bytes',
    text: `$TTL 1\nx CNAME ${Array(5).fill('b'.repeat(60)).join('.')}.`,
    errors: [[2, 'longer than 255 bytes']],
  },
  { name: 'empty label', text: '$TTL 1\na..b A 192.0.2.1', errors: [[2, 'empty label in "a..b.example.com."']] },
  { name: 'empty label in rdata', text: '$TTL 1\nx NS .ns.', errors: [[2, 'empty label']] },
  { name: 'escape in name rejected', text: '$TTL 1\na\\.b A 192.0.2.1', errors: [[2, 'escaped characters in names are not supported']] },
  { name: 'non-ASCII name', text: '$TTL 1\nhéllo A 192.0.2.1', errors: [[2, 'non-ASCII or control character in name']] },
  { name: "bad escape reported at the record's first line", text: '$TTL 1\nt TXT (\n"\\999" )', errors: [[2, 'bad escape']] },
  { name: 'lone ) on its own line', text: '$TTL 1\n)', errors: [[2, 'unbalanced ")"']] },
  { name: 'nested parenthesis', text: '$TTL 1\nt TXT ( ( "a" ) )', errors: [[2, 'nested parenthesis']] },
  { name: 'unterminated quote inside parentheses', text: '$TTL 1\nt TXT ( "a"\n "b )\nx A 192.0.2.1', errors: [[3, 'unterminated quoted string']] },
  { name: 'character-string > 255', text: `$TTL 1\nt TXT "${'x'.repeat(256)}"`, errors: [[2, 'character-string longer than 255 bytes']] },
  { name: 'bad \\DDD escape', text: '$TTL 1\nt TXT "\\256"', errors: [[2, 'bad escape "\\256"']] },
  { name: 'unterminated quote', text: '$TTL 1\nt TXT "abc\nx A 192.0.2.1', errors: [[2, 'unterminated quoted string']] },
  {
    name: 'unterminated parenthesis reported where it opened',
    text: '$TTL 1\n@ SOA a b (\n 1 2 3 4 5\nx A 192.0.2.1',
    errors: [[2, 'unterminated parenthesis']],
  },
  { name: 'unbalanced )', text: '$TTL 1\nx A 192.0.2.1 )', errors: [[2, 'unbalanced ")"']] },
  { name: 'class other than IN', text: '$TTL 1\nx CH A 192.0.2.1', errors: [[2, 'class "CH" not supported (only IN)']] },
  { name: 'class after TTL, not IN', text: 'x 5 HS A 192.0.2.1', errors: [[1, 'class "HS" not supported']] },
  { name: '$INCLUDE', text: '$INCLUDE other.zone', errors: [[1, '$INCLUDE is not supported']] },
  { name: 'unknown directive', text: '$GENERATE 1-2 x A 1.2.3.4', errors: [[1, 'unknown directive "$GENERATE"']] },
  { name: '$ORIGIN without argument', text: '$ORIGIN', errors: [[1, '$ORIGIN needs an argument']] },
  { name: 'no TTL anywhere', text: 'x A 192.0.2.1', errors: [[1, 'no TTL and no $TTL']] },
  { name: 'first record has blank owner', text: '$TTL 1\n  A 192.0.2.1', errors: [[2, 'no owner name']] },
  { name: 'quoted owner', text: '$TTL 1\n"x" A 192.0.2.1', errors: [[2, 'expected a domain name']] },
  { name: '\\# length mismatch', text: '$TTL 1\nx TYPE99 \\# 2 aabbcc', errors: [[2, '\\# length 2 but 3 bytes of hex']] },
  { name: '\\# bad hex', text: '$TTL 1\nx TYPE99 \\# 1 zz', errors: [[2, 'bad hex']] },
  { name: '\\# too short for type', text: '$TTL 1\nx A \\# 3 c00002', errors: [[2, 'A \\# rdata too short']] },
  { name: '\\# too long for type', text: '$TTL 1\nx A \\# 5 c000020101', errors: [[2, 'trailing garbage in A \\# rdata']] },
  { name: 'unknown type needs \\#', text: '$TTL 1\nx TYPE99 abc', errors: [[2, 'needs RFC 3597']] },
  {
    name: 'errors are collected with their lines; good records survive',
    text: '$TTL 1\na A 1.2.3.999\nb A 192.0.2.1\nc MX 99999 m\n\nd BOGUS x\ne A 192.0.2.2',
    records: [r(3, `b.${O}`, 1, A('192.0.2.1')), r(7, `e.${O}`, 1, A('192.0.2.2'))],
    errors: [
      [2, 'bad IPv4 address "1.2.3.999"'],
      [4, 'MX preference must be 0-65535'],
      [6, 'unknown record type "BOGUS"'],
    ],
  },
  {
    name: 'a bad owner does not cascade into its continuation lines',
    text: '$TTL 1\na..b A 192.0.2.1\n  A 192.0.2.2\n  A 999.0.0.1\nc A 192.0.2.3',
    records: [r(5, `c.${O}`, 1, A('192.0.2.3'))],
    errors: [
      [2, 'empty label'],
      [4, 'bad IPv4 address'],
    ],
  },
];

for (const c of cases) {
  test(`parse: ${c.name}`, () => {
    const opts = { file: 't.zone', origin: c.origin ?? 'example.com', ...(c.defaultTtl === undefined ? {} : { defaultTtl: c.defaultTtl }) };
    const got = parseZoneText(c.text, opts);
    const want = c.errors ?? [];
    assert.equal(got.errors.length, want.length, `errors: ${JSON.stringify(got.errors)}`);
    want.forEach(([line, sub], i) => {
      const e = got.errors[i]!;
      assert.equal(e.file, 't.zone');
      assert.equal(e.line, line, `line of ${JSON.stringify(e)}`);
      assert.ok(e.reason.includes(sub), `"${e.reason}" should contain "${sub}"`);
    });
    if (c.records) assert.deepEqual(got.records, c.records);
  });
}

test('parse: sample zone gslb.example.com parses cleanly', () => {
  const text = readFileSync(new URL('../../zones/gslb.example.com.zone', import.meta.url), 'utf8');
  const { records, errors } = parseZoneText(text, { file: 'gslb.example.com.zone', origin: 'gslb.example.com.' });
  assert.deepEqual(errors, []);
  assert.equal(records.length, 19);
  const z = 'gslb.example.com.';
  assert.deepEqual(
    records[0],
    r(4, z, 3600, {
      type: 6,
      mname: `ns1.${z}`,
      rname: 'hostmaster.example.com.',
      serial: 2026112301,
      refresh: 7200,
      retry: 3600,
      expire: 1209600,
      minimum: 300,
    }),
  );
  assert.deepEqual(
    records.find((x) => x.type === 15),
    r(12, z, 300, { type: 15, preference: 10, exchange: `mail.${z}` }),
  );
  assert.deepEqual(
    records.filter((x) => x.name === `www.${z}`).map((x) => x.line),
    [21],
  ); // a service: only its TXT is in the zone
  assert.ok(records.some((x) => x.name === `*.apps.${z}`));
  assert.deepEqual(records.find((x) => x.type === 12)?.name, `10.2.0.192.in-addr.${z}`);
  assert.deepEqual(records.find((x) => x.type === 33)?.rdata, { type: 33, priority: 10, weight: 60, port: 5060, target: `sip.${z}` });
});

test('parse: never throws on arbitrary input (property)', () => {
  const pieces = [
    '$TTL',
    '$ORIGIN',
    '$INCLUDE',
    '@',
    'IN',
    'CH',
    'A',
    'MX',
    'SOA',
    'TXT',
    'CAA',
    'TYPE9',
    '\\#',
    '\\',
    '\\0',
    '"',
    '(',
    ')',
    ';',
    ' ',
    '\t',
    '\n',
    '\r\n',
    '.',
    '..',
    '1',
    '65536',
    '1h',
    'www',
    'x.y.',
    '192.0.2.1',
    '::1',
    'ff',
    '*',
  ];
  const zoneish = fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((a) => a.join(''));
  const anything = fc.string({ unit: 'binary', maxLength: 200 });
  fc.assert(
    fc.property(fc.oneof(zoneish, anything), fc.constantFrom('example.com', '.', 'a.'), (text, origin) => {
      const { records, errors } = parseZoneText(text, { file: 'f', origin });
      const lines = text.split('\n').length;
      for (const e of errors) assert.ok(e.line >= 1 && e.line <= lines && e.reason.length > 0, JSON.stringify(e));
      for (const x of records) {
        assert.ok(x.name.endsWith('.') && x.name === x.name.replace(/[A-Z]/g, (c) => c.toLowerCase()));
        assert.ok(x.line >= 1 && x.line <= lines && x.ttl >= 0 && x.ttl <= 2147483647);
      }
    }),
    { numRuns: 2000 },
  );
});
