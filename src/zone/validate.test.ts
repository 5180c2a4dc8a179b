import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseZoneText } from './parse.js';
import { dedupe, validateZone } from './validate.js';
import type { ParsedRecord } from './types.js';

// Lines 1-4; cases append from line 5 on, so expected line numbers start at 5.
const HEAD = '$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n';

function records(text: string): ParsedRecord[] {
  const { records, errors } = parseZoneText(text, { file: 't.zone', origin: 'example.com.' });
  assert.deepEqual(errors, [], 'test zone must parse');
  return records;
}

interface Case {
  name: string;
  text: string;
  /** Expected errors as [line, substring of reason], sorted by line; [] = valid. */
  errors: Array<[number, string]>;
}

const cases: Case[] = [
  { name: 'minimal valid zone', text: HEAD, errors: [] },
  { name: 'no SOA', text: '$TTL 1\n@ NS ns1\nns1 A 192.0.2.1', errors: [[1, 'no SOA record at zone apex example.com.']] },
  {
    name: 'two SOAs at the apex',
    text: `${HEAD}@ SOA ns1 hostmaster 2 7200 3600 1209600 300`,
    errors: [[5, 'more than one SOA (first at line 2)']],
  },
  {
    name: 'SOA below the apex',
    text: `${HEAD}sub SOA ns1 hostmaster 2 1 1 1 1`,
    errors: [[5, 'SOA must be at the zone apex example.com.']],
  },
  {
    name: 'no NS at the apex',
    text: '$TTL 1\n@ SOA ns1 hostmaster 1 1 1 1 1\nns1 A 192.0.2.1',
    errors: [[2, 'no NS records at zone apex']],
  },
  { name: 'out of zone owner', text: `${HEAD}www.example.org. A 192.0.2.9`, errors: [[5, 'owner www.example.org. is out of zone example.com.']] },
  { name: 'suffix is not a parent', text: `${HEAD}badexample.com. A 192.0.2.9`, errors: [[5, 'out of zone']] },
  {
    name: 'CNAME and other data',
    text: `${HEAD}www CNAME ns1\nx A 192.0.2.2\nwww A 192.0.2.3`,
    errors: [[7, 'CNAME and other data at www.example.com. (A at line 7, CNAME at line 5)']],
  },
  {
    name: 'CNAME after other data points at the CNAME',
    text: `${HEAD}www TXT "hi"\nwww CNAME ns1`,
    errors: [[6, 'CNAME and other data at www.example.com.']],
  },
  { name: 'two CNAMEs at one name', text: `${HEAD}www CNAME ns1\nwww CNAME ns2`, errors: [[6, 'more than one CNAME at www.example.com. (first at line 5)']] },
  { name: 'CNAME with RRSIG is fine', text: `${HEAD}www CNAME ns1\nwww TYPE46 \\# 1 00`, errors: [] },
  { name: 'CNAME at the apex', text: `${HEAD}@ CNAME other.net.`, errors: [[5, 'CNAME not allowed at zone apex']] },
  {
    name: 'delegation with glue and DS is fine',
    text: `${HEAD}sub NS ns.sub\nsub NS ns.other.net.\nsub TYPE43 \\# 1 00\nns.sub A 192.0.2.53\nns.sub AAAA 2001:db8::53`,
    errors: [],
  },
  { name: 'non-glue data at a cut', text: `${HEAD}sub NS ns.sub\nsub MX 10 mail`, errors: [[6, 'MX at sub.example.com. occluded by delegation at sub.example.com.']] },
  { name: 'data below a cut', text: `${HEAD}sub NS ns.sub\nwww.sub TXT "x"`, errors: [[6, 'TXT at www.sub.example.com. occluded by delegation at sub.example.com.']] },
  {
    name: 'nested delegation is occluded by the topmost cut',
    text: `${HEAD}sub NS ns.sub\ndeep.x.sub NS ns.deep\nns.sub A 192.0.2.53`,
    errors: [[6, 'NS at deep.x.sub.example.com. occluded by delegation at sub.example.com.']],
  },
  { name: 'DS below a cut', text: `${HEAD}sub NS ns.sub\nx.sub TYPE43 \\# 1 00`, errors: [[6, 'TYPE43 at x.sub.example.com. occluded']] },
  { name: 'wildcard leftmost is fine', text: `${HEAD}*.apps A 192.0.2.80\n* TXT "catch-all"`, errors: [] },
  { name: 'wildcard not leftmost', text: `${HEAD}a.*.apps A 192.0.2.80`, errors: [[5, 'wildcard "*" only allowed as leftmost label']] },
  {
    name: 'TTL differs within an RRset',
    text: `${HEAD}www 300 A 192.0.2.1\nwww 600 A 192.0.2.2\nwww 600 AAAA ::1`,
    errors: [[6, 'TTL 600 differs from 300 of the same RRset (line 5)']],
  },
  {
    name: 'same rdata with a different TTL is not a silent duplicate',
    text: `${HEAD}www 300 A 192.0.2.1\nwww 600 A 192.0.2.1`,
    errors: [[6, 'TTL 600 differs from 300']],
  },
  {
    name: 'exact duplicates are not errors (SOA, CNAME, TXT, AAAA in other text form)',
    text: `${HEAD}@ SOA ns1 hostmaster 1 7200 3600 1209600 300\nc CNAME ns1\nc CNAME ns1.example.com.\nt TXT "a" b\nt TXT a "b"\nv AAAA 2001:db8::1\nv AAAA 2001:DB8:0:0::1`,
    errors: [],
  },
  { name: 'MX target is a CNAME', text: `${HEAD}@ MX 10 mail\nmail CNAME ns1`, errors: [[5, 'MX exchange mail.example.com. is a CNAME (line 6)']] },
  { name: 'SRV target is a CNAME', text: `${HEAD}_x._tcp SRV 1 1 1 s\ns CNAME ns1`, errors: [[5, 'SRV target s.example.com. is a CNAME (line 6)']] },
  {
    name: 'NS target is a CNAME',
    text: `${HEAD}@ NS ns2\nns2 CNAME ns1`,
    errors: [[5, 'NS target ns2.example.com. is a CNAME (line 6)']],
  },
  { name: 'targets outside the zone are not checked', text: `${HEAD}@ MX 10 mail.other.net.`, errors: [] },
  {
    name: 'several problems, all reported in line order',
    text: `${HEAD}a.*.b A 192.0.2.1\nx.org. A 192.0.2.1\nsub NS ns.sub\nsub TXT "t"`,
    errors: [
      [5, 'wildcard'],
      [6, 'out of zone'],
      [8, 'occluded by delegation at sub.example.com.'],
    ],
  },
];

for (const c of cases) {
  test(`validate: ${c.name}`, () => {
    const got = validateZone(records(c.text), { file: 't.zone', origin: 'example.com' });
    assert.equal(got.length, c.errors.length, `errors: ${JSON.stringify(got)}`);
    c.errors.forEach(([line, sub], i) => {
      const e = got[i]!;
      assert.equal(e.file, 't.zone');
      assert.equal(e.line, line, `line of ${JSON.stringify(e)}`);
      assert.ok(e.reason.includes(sub), `"${e.reason}" should contain "${sub}"`);
    });
  });
}

test('validate: root zone origin', () => {
  const text = '$TTL 1\n. SOA a.root. b.root. 1 1 1 1 1\n. NS a.root.\ncom. NS a.gtld.\na.gtld.com. A 192.0.2.1\nwww.com. A 192.0.2.2';
  const { records: rs, errors } = parseZoneText(text, { file: 'root', origin: '.' });
  assert.deepEqual(errors, []);
  const got = validateZone(rs, { file: 'root', origin: '.' });
  assert.deepEqual(
    got.map((e) => e.line),
    [],
  );
  // Under the root every name is in zone, and data below com. other than addresses is occluded.
  const more = parseZoneText('x.com. TXT "t"', { file: 'root', origin: '.', defaultTtl: 1 }).records;
  assert.deepEqual(
    validateZone(rs.concat(more), { file: 'root', origin: '.' }).map((e) => e.reason),
    ['TXT at x.com. occluded by delegation at com.'],
  );
});

test('dedupe: keeps the first of exact duplicates, in order', () => {
  const rs = records(`${HEAD}a A 192.0.2.1\nb A 192.0.2.2\na A 192.0.2.1\na 60 A 192.0.2.1\nv AAAA ::1\nv AAAA 0::1`);
  const out = dedupe(rs);
  assert.deepEqual(
    out.map((x) => x.line),
    [2, 3, 4, 5, 6, 8, 9],
  );
  assert.equal(rs.length, 9, 'input is not modified');
});

test('validate: sample zone gslb.example.com has no errors', () => {
  const text = readFileSync(new URL('../../zones/gslb.example.com.zone', import.meta.url), 'utf8');
  const opts = { file: 'gslb.example.com.zone', origin: 'gslb.example.com.' };
  const { records: rs, errors } = parseZoneText(text, opts);
  assert.deepEqual(errors, []);
  assert.deepEqual(validateZone(rs, opts), []);
  assert.equal(dedupe(rs).length, rs.length);
});
