/**
 * The fixture writer (geodb/mmdb-writer.ts) read back by two independent readers: the `maxmind`
 * package and libmaxminddb's `mmdblookup` (Debian mmdb-bin). If the writer were wrong, the fixture
 * tests would test nothing, so its output is checked here against readers we did not write.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Reader } from 'maxmind';
import { buildFixtures, FIXTURE_PATHS } from '../../geodb/make-fixture.js';
import { mmdb, writeMmdb, type MmdbEntry } from '../../geodb/mmdb-writer.js';

const hasMmdblookup = (() => {
  try {
    execFileSync('mmdblookup', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// CI must run the libmaxminddb cross-check: a missing tool there is a failure, not a skip.
const mmdbSkip = !hasMmdblookup && !process.env.CI ? 'mmdblookup not installed (apt-get install mmdb-bin)' : false;

test('the committed fixtures are exactly what geodb/make-fixture.ts builds', () => {
  const { city, flat } = buildFixtures();
  assert.ok(readFileSync(FIXTURE_PATHS.city).equals(city), 'test-city.mmdb is stale: run node --import tsx geodb/make-fixture.ts');
  assert.ok(readFileSync(FIXTURE_PATHS.flat).equals(flat), 'test-flat.mmdb is stale: run node --import tsx geodb/make-fixture.ts');
});

const NESTED: MmdbEntry[] = [
  { network: '10.0.0.0/8', data: { n: 'a /8' } },
  { network: '10.1.0.0/16', data: { n: 'a /16' } },
  { network: '10.1.2.0/24', data: { n: 'a /24' } },
  { network: '10.1.2.128/25', data: { n: 'a /25' } },
  { network: '10.1.2.7/32', data: { n: 'a /32' } },
  { network: '172.16.0.0/12', data: { n: 'another /12' } },
];
const NESTED6: MmdbEntry[] = [
  { network: '2001:db8::/32', data: { n: 'a /32' } },
  { network: '2001:db8:1::/48', data: { n: 'a /48' } },
  { network: '2001:db8:1:100::/56', data: { n: 'a /56' } },
  { network: '2001:db8:1:100::1/128', data: { n: 'a /128' } },
];

// [address, expected n (null = no record), prefix length maxmind reports (IPv4 bits for IPv4 text)]
const NESTED_CASES: Array<[string, string | null, number]> = [
  ['10.200.0.1', 'a /8', 9], //         the /8 is split where the /16 branches off: 10.128.0.0/9
  ['10.1.0.1', 'a /16', 23], //         10.1.0.0/23, beside the /24's branch
  ['10.1.2.100', 'a /24', 26], //       10.1.2.64/26: the lower half of the /24 is split by the /32
  ['10.1.2.1', 'a /24', 30], //         10.1.2.0/30, beside the /32's branch
  ['10.1.2.7', 'a /32', 32],
  ['10.1.2.6', 'a /24', 32], //         a sibling of the /32
  ['10.1.2.200', 'a /25', 25],
  ['172.31.255.255', 'another /12', 12],
  ['11.0.0.1', null, 8],
  ['192.0.2.1', null, 2], //            192.0.0.0/2 is empty: 172.16.0.0/12 shares the first bit
];
const NESTED6_CASES: Array<[string, string | null, number]> = [
  ['2001:db8:8000::1', 'a /32', 33],
  ['2001:db8:1::1', 'a /48', 56],
  ['2001:db8:1:100::1', 'a /128', 128],
  ['2001:db8:1:100::2', 'a /56', 127],
  ['2001:db9::1', null, 32],
];

for (const recordSize of [24, 28, 32] as const) {
  for (const ipVersion of [4, 6] as const) {
    test(`maxmind reads nested networks back from a ${recordSize}-bit IPv${ipVersion} tree`, () => {
      const entries = ipVersion === 6 ? [...NESTED, ...NESTED6] : NESTED;
      const r = new Reader(writeMmdb(entries, { ipVersion, recordSize, databaseType: 'T', buildEpoch: 1 }));
      assert.equal(r.metadata.ipVersion, ipVersion);
      assert.equal(r.metadata.recordSize, recordSize);
      for (const [ip, n, prefix] of ipVersion === 6 ? [...NESTED_CASES, ...NESTED6_CASES] : NESTED_CASES) {
        const [rec, len] = r.getWithPrefixLength(ip);
        assert.deepEqual([rec && (rec as unknown as { n: string }).n, len], [n, prefix], ip);
      }
    });
  }
}

test('the output depends on the set of networks, not their order', () => {
  const opts = { ipVersion: 6, databaseType: 'T', buildEpoch: 1 } as const;
  const a = writeMmdb([...NESTED, ...NESTED6], opts);
  const b = writeMmdb([...NESTED6, ...NESTED].reverse(), opts);
  assert.ok(a.equals(b));
});

test('IPv4-mapped IPv6 addresses find the IPv4 records (::ffff:0:0/96 alias), unless turned off', () => {
  const withAlias = new Reader(writeMmdb(NESTED, { ipVersion: 6, databaseType: 'T', buildEpoch: 1 }));
  assert.deepEqual(withAlias.getWithPrefixLength('::ffff:10.1.2.200'), [{ n: 'a /25' }, 96 + 25]);
  assert.deepEqual(withAlias.getWithPrefixLength('::10.1.2.200'), [{ n: 'a /25' }, 96 + 25]);
  const without = new Reader(writeMmdb(NESTED, { ipVersion: 6, databaseType: 'T', buildEpoch: 1, aliasIpv4Mapped: false }));
  assert.equal(without.get('::ffff:10.1.2.200'), null);
});

test('every data type survives the round trip, and repeated values become pointers', () => {
  const data = {
    s: 'text',
    long: 'x'.repeat(70_000), //             three-byte size extension
    mid: 'y'.repeat(300), //                  two-byte size extension
    d: mmdb.double(-33.8688),
    f: mmdb.float(1.5),
    u16: mmdb.uint16(65535),
    u32: 4_000_000_000,
    zero: 0,
    i32: -7,
    u64: mmdb.uint64(2n ** 60n),
    t: true,
    no: false,
    bytes: Buffer.from([1, 2, 3]),
    arr: ['text', { k: 'text' }, [1, 2]],
    nested: { names: { en: 'Europe', de: 'Europa' } },
  };
  const buf = writeMmdb(
    [
      { network: '10.0.0.0/8', data },
      { network: '11.0.0.0/8', data: { again: { names: { en: 'Europe', de: 'Europa' } } } },
    ],
    { ipVersion: 4, databaseType: 'T', buildEpoch: 1 },
  );
  const r = new Reader(buf);
  assert.deepEqual(r.get('10.0.0.1'), {
    ...data,
    d: -33.8688,
    f: 1.5,
    u16: 65535,
    i32: -7,
    u64: 2n ** 60n,
    bytes: Buffer.from([1, 2, 3]),
  });
  assert.deepEqual(r.get('11.0.0.1'), { again: { names: { en: 'Europe', de: 'Europa' } } });
  // The second record's map is a pointer to the first copy: "Europa" is stored once.
  assert.equal(buf.toString('latin1').split('Europa').length - 1, 1);
});

test('the metadata says what the options said', () => {
  const r = new Reader(writeMmdb([], { ipVersion: 6, recordSize: 28, databaseType: 'Meridian-T', buildEpoch: 1_767_225_600, description: { en: 'd' } }));
  assert.equal(r.metadata.databaseType, 'Meridian-T');
  assert.equal(r.metadata.buildEpoch.toISOString(), '2026-01-01T00:00:00.000Z');
  assert.deepEqual(r.metadata.description, { en: 'd' });
  assert.equal(r.metadata.binaryFormatMajorVersion, 2);
  assert.equal(r.get('1.2.3.4'), null);
});

test('bad input is refused with the network named', () => {
  const w =
    (network: string, ipVersion: 4 | 6 = 4) =>
    () =>
      writeMmdb([{ network, data: {} }], { ipVersion, databaseType: 'T', buildEpoch: 1 });
  assert.throws(w('10.0.0.1/8'), /10\.0\.0\.1\/8: host bits set/);
  assert.throws(w('10.0.0.0'), /missing \/prefix/);
  assert.throws(w('10.0.0.0/33'), /bad prefix length/);
  assert.throws(w('2001:db8::/32'), /IPv6 network in an IPv4 database/);
  assert.throws(w('::ffff:10.0.0.0/104', 6), /inside ::ffff:0:0\/96/);
  assert.throws(w('nonsense/8'), /not an IP address/);
  assert.throws(
    () =>
      writeMmdb(
        [
          { network: '10.0.0.0/8', data: {} },
          { network: '10.0.0.0/8', data: { x: 1 } },
        ],
        { ipVersion: 4, databaseType: 'T', buildEpoch: 1 },
      ),
    /duplicate network/,
  );
});

// mmdblookup prints `"DE" <utf8_string>` for a path, and "Record prefix length: N" with --verbose.
function mmdblookup(file: string, ip: string, ...path: string[]): { value: string | null; prefix: number | null } {
  const out = execFileSync('mmdblookup', ['--file', file, '--ip', ip, '--verbose', ...path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = /Record prefix length: (\d+)/.exec(out);
  const value = /^\s*(\S.*?) <\w+>\s*$/m.exec(out.split('Record prefix length')[1] ?? '');
  return { value: value ? value[1]! : null, prefix: prefix ? Number(prefix[1]) : null };
}

test('mmdblookup (libmaxminddb) reads the committed fixtures', { skip: mmdbSkip }, () => {
  assert.ok(hasMmdblookup, 'mmdblookup is required in CI (Debian package mmdb-bin)');
  // [file, address, lookup path, value as printed, prefix length in IPv6-tree bits]
  const cases: Array<[keyof typeof FIXTURE_PATHS, string, string[], string, number]> = [
    ['city', '2.16.32.200', ['country', 'iso_code'], '"GB"', 96 + 25],
    ['city', '2.16.0.1', ['subdivisions', '0', 'iso_code'], '"HE"', 96 + 19],
    ['city', '3.101.7.7', ['location', 'latitude'], '37.338200', 96 + 16],
    ['city', '::ffff:192.0.2.53', ['country', 'iso_code'], '"NL"', 96 + 32],
    ['city', '2001:db8:1:100::1', ['continent', 'code'], '"EU"', 56],
    ['city', '2400:cb00:2048::1', ['country', 'iso_code'], '"SG"', 48],
    ['flat', '2.16.0.1', ['state1'], '"Hesse"', 96 + 19],
    ['flat', '198.51.100.7', ['country_code'], '"US"', 96 + 24],
    ['flat', '2600:1f1c::1', ['latitude'], '37.338200', 32],
  ];
  for (const [f, ip, path, value, prefix] of cases) {
    assert.deepEqual(mmdblookup(FIXTURE_PATHS[f], ip, ...path), { value, prefix }, `${f} ${ip} ${path.join('.')}`);
  }
  // Unknown space: mmdblookup says so and exits non-zero.
  const miss = spawnSync('mmdblookup', ['--file', FIXTURE_PATHS.city, '--ip', '203.0.113.200'], { encoding: 'utf8' });
  assert.notEqual(miss.status, 0);
  assert.match(miss.stdout + miss.stderr, /Could not find an entry/);
});

test('mmdblookup reads IPv4 trees and every record size the writer makes', { skip: mmdbSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-mmdb-'));
  for (const recordSize of [24, 28, 32] as const) {
    for (const ipVersion of [4, 6] as const) {
      const file = join(dir, `t-${ipVersion}-${recordSize}.mmdb`);
      writeFileSync(file, writeMmdb(NESTED, { ipVersion, recordSize, databaseType: 'T', buildEpoch: 1 }));
      for (const [ip, n, prefix] of NESTED_CASES.filter((c) => c[1] !== null)) {
        assert.deepEqual(mmdblookup(file, ip, 'n'), { value: JSON.stringify(n), prefix: prefix + (ipVersion === 6 ? 96 : 0) }, `${file} ${ip}`);
      }
    }
  }
});
