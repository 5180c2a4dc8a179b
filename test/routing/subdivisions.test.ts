/**
 * Subdivision rules through the real program: city databases of every shape Meridian reads,
 * generated here with the repo's mmdb writer, a real `meridian serve` started from a YAML config,
 * and `dig` queries with ECS from addresses in those databases. The rules are written in every
 * form the docs allow (ISO 3166-2 code, `CC-Name`, bare name) and must route the same client to the
 * same region whichever shape the database has. With a country-only database, `meridian check`
 * prints a warning and `serve` logs it once at start.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { buildDatabase, PLACES, type DatabaseShape, type Place } from '../../geodb/make-fixture.js';
import { dig, parseDig, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';
const ROOT = new URL('../..', import.meta.url).pathname;
const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 127.0.0.1\nns2 A 127.0.0.2\n`;

/** A region no database spells with a code: GeoIP2 files give it by name only. */
const CASCADIA: Place = { continent: 'NA', country: 'US', sub: ['', 'Cascadia'], city: 'Seattle', at: [47.6062, -122.3321] };
const NETWORKS: [string, Place][] = [
  ['3.0.0.0/8', PLACES.ashburn], //           US-VA  Virginia
  ['3.101.0.0/16', PLACES.sanJose], //        US-CA  California
  ['3.200.0.0/16', CASCADIA], //              (none) Cascadia
  ['2.0.0.0/8', PLACES.paris], //             FR-IDF Île-de-France
  ['2.16.0.0/16', PLACES.frankfurt], //       DE-HE  Hesse
  ['177.71.128.0/20', PLACES.saoPaulo], //    BR-SP  São Paulo
  ['43.224.0.0/20', PLACES.tokyo], //         JP-13  Tokyo
  ['24.48.0.0/20', PLACES.toronto], //        CA-ON  Ontario (country CA: not US-CA)
  ['2600:1f1c::/32', PLACES.sanJose],
];

/** One region per rule, so the answer says which rule matched. */
const REGIONS = ['fallback', 'west', 'east', 'idf', 'hesse', 'sp', 'tokyo', 'cascadia'];
const ADDR = Object.fromEntries(REGIONS.map((id, i) => [id, `192.0.2.${10 + i}`])) as Record<string, string>;

function config(database: string, services: unknown[]): Record<string, unknown> {
  return {
    geo: { database },
    regions: REGIONS.map((id, i) => ({
      id,
      location: { lat: 0, lon: i, continent: 'NA', country: 'US' },
      addresses: { ipv4: [ADDR[id]], ipv6: [`2001:db8::${i + 1}`] },
    })),
    services,
  };
}

/** Every spelling the docs allow; one rule per region. */
const SPELLINGS = {
  name: `sub.${Z}`,
  regions: REGIONS,
  policy: {
    geo: {
      subdivisions: {
        'US-CA': ['west'], //             ISO 3166-2 code
        Virginia: ['east'], //            bare English name (unique across countries)
        'fr-idf': ['idf'], //             code, any case
        'DE-Hesse': ['hesse'], //         CC-Name
        'BR-Sao Paulo': ['sp'], //        CC-Name without the diacritic
        'JP-13': ['tokyo'],
        'US-Cascadia': ['cascadia'], //   a name Meridian's table does not know: matched by name
      },
      default: ['fallback'],
    },
  },
};
/** Codes only: what a MaxMind user writes, and what must also match a database of names. */
const CODES = {
  name: `codes.${Z}`,
  regions: REGIONS,
  policy: { geo: { subdivisions: { 'US-CA': ['west'], 'US-VA': ['east'], 'FR-IDF': ['idf'], 'DE-HE': ['hesse'], 'BR-SP': ['sp'], 'JP-13': ['tokyo'] }, default: ['fallback'] } },
};

const CASES: [ecs: string, region: string, what: string][] = [
  ['3.101.7.0/24', 'west', 'San Jose, California'],
  ['3.5.0.0/24', 'east', 'Ashburn, Virginia'],
  ['2.200.0.0/24', 'idf', 'Paris, Île-de-France'],
  ['2.16.200.0/24', 'hesse', 'Frankfurt, Hesse'],
  ['177.71.130.0/24', 'sp', 'São Paulo'],
  ['43.224.5.0/24', 'tokyo', 'Tokyo (a numeric ISO suffix)'],
  ['24.48.1.0/24', 'fallback', 'Toronto: country CA must not match US-CA'],
  ['2600:1f1c::/48', 'west', 'San Jose over IPv6'],
];

async function answer(srv: RunningServer, name: string, ecs: string): Promise<string[]> {
  const out = parseDig(await dig(['@127.0.0.1', '-p', String(srv.port), name, 'A', `+subnet=${ecs}`, '+tries=3', '+time=2']));
  assert.equal(out.status, 'NOERROR', out.raw);
  return out.answer.map((l) => l.split(/\s+/).pop()!);
}

function meridian(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SHAPES: DatabaseShape[] = ['geoip2', 'geoip2-names', 'flat'];
for (const shape of SHAPES) {
  describe(`subdivision rules with a ${shape} city database (live meridian serve, dig with ECS)`, () => {
    let srv: RunningServer;
    before(async () => {
      srv = await startMeridian({
        zones: [{ origin: Z, text: ZONE }],
        files: { 'city.mmdb': buildDatabase(shape, NETWORKS) },
        extra: config('city.mmdb', [SPELLINGS, CODES]),
      });
    });
    after(() => srv?.stop());

    for (const [ecs, region, what] of CASES) {
      test(`${what}: rules in every spelling -> ${region}`, async () => {
        assert.deepEqual(await answer(srv, `sub.${Z}`, ecs), [ADDR[region]]);
      });
      test(`${what}: rules as ISO codes -> ${region}`, async () => {
        assert.deepEqual(await answer(srv, `codes.${Z}`, ecs), [ADDR[region]]);
      });
    }
    test('a region with no ISO code is matched by its name (CC-Name)', async () => {
      assert.deepEqual(await answer(srv, `sub.${Z}`, '3.200.1.0/24'), [ADDR.cascadia]);
      assert.deepEqual(await answer(srv, `codes.${Z}`, '3.200.1.0/24'), [ADDR.fallback], 'no code rule names it: default');
    });
    test('no country-only warning with a city database', () => {
      assert.doesNotMatch(srv.output(), /no subdivision data/);
    });
  });
}

describe('subdivision rules with a country-only database', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-subdiv-'));
    writeFileSync(join(dir, 'zone'), ZONE);
    writeFileSync(join(dir, 'country.mmdb'), buildDatabase('country', NETWORKS));
    writeFileSync(join(dir, 'city.mmdb'), buildDatabase('flat', NETWORKS));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, database: string, services: unknown[] = [CODES]): string => {
    const file = join(dir, name);
    writeFileSync(file, stringify({ dns: { listen: ['127.0.0.1:0'] }, zones: [{ origin: Z, file: 'zone' }], ...config(database, services) }));
    return file;
  };

  for (const [what, db] of [
    ['the embedded default', 'embedded'],
    ['a country-only file', 'country.mmdb'],
  ] as const) {
    test(`meridian check warns (exit 0) with ${what}, at the file and line of the rules`, () => {
      const file = write(`check-${db}.yaml`, db);
      // The value of geo.subdivisions (its first rule, on the line after the key in block style):
      // config messages point at the value, as the loader's do.
      const line =
        readFileSync(file, 'utf8')
          .split('\n')
          .findIndex((l) => /^\s*subdivisions:$/.test(l)) + 2;
      assert.ok(line > 1);
      const r = meridian(['check', '--config', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ok/m);
      const warning = r.stderr.split('\n').find((l) => l.includes('never match'));
      assert.ok(warning?.startsWith(`${file}:${line}: warning: `), `file:line of geo.subdivisions (${line}): ${r.stderr}`);
      assert.match(r.stderr, /warning: service codes\.gslb\.example\.com\.: geo\.subdivisions \(US-CA, US-VA, FR-IDF, DE-HE, BR-SP, JP-13\) never match: the geo database .* has no subdivision data/);
      assert.equal(r.stderr.match(/warning/g)?.length, 1, r.stderr);
    });
  }

  test('meridian check with a city database: no country-only warning; a CC-Name no table knows is accepted with a warning', () => {
    const r = meridian(['check', '--config', write('check-city.yaml', 'city.mmdb', [SPELLINGS, CODES])]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: .*geo\.subdivisions\.US-Cascadia: "Cascadia" is not a subdivision of US that Meridian knows/);
    assert.equal(r.stderr.match(/warning/g)?.length, 1, r.stderr);
  });

  test('meridian serve logs the warning once at start and answers from the other rules', async () => {
    const srv = await startMeridian({
      zones: [{ origin: Z, text: ZONE }],
      files: { 'country.mmdb': readFileSync(join(dir, 'country.mmdb')) },
      extra: config('country.mmdb', [CODES]),
    });
    try {
      assert.deepEqual(await answer(srv, `codes.${Z}`, '3.101.7.0/24'), [ADDR.fallback]);
      const warnings = srv
        .output()
        .split('\n')
        .filter((l) => l.includes('no subdivision data'));
      assert.equal(warnings.length, 1, srv.output());
      const line = JSON.parse(warnings[0]!) as { level: number; msg: string };
      assert.equal(line.level, 40, 'logged as a warning');
      assert.match(line.msg, /service codes\.gslb\.example\.com\.: geo\.subdivisions \(US-CA, .*\) never match/);
    } finally {
      await srv.stop();
    }
  });

  test('meridian check rejects nonsense subdivision keys, each naming its field', () => {
    const nonsense: [key: string, want: RegExp][] = [
      ['XX-CA', /geo\.subdivisions\.XX-CA: "XX" is not an ISO 3166-1 country code/],
      ['US-ZZ', /geo\.subdivisions\.US-ZZ: "ZZ" is not an ISO 3166-2 subdivision code of US/],
      ['Californa', /geo\.subdivisions\.Californa: "Californa" is not a subdivision name Meridian knows; write it as CC-Name/],
      ['Limburg', /geo\.subdivisions\.Limburg: "Limburg" names subdivisions of several countries \((BE-VLI, NL-LI|NL-LI, BE-VLI)\)/],
      ['', /geo\.subdivisions.*"" is not a subdivision/],
    ];
    const services = nonsense.map(([key], i) => ({ name: `bad${i}.${Z}`, regions: ['fallback'], policy: { geo: { subdivisions: { [key]: ['fallback'] } } } }));
    const r = meridian(['check', '--config', write('bad.yaml', 'city.mmdb', services)]);
    assert.equal(r.code, 1, r.stderr);
    nonsense.forEach(([, want], i) => {
      const line = r.stderr.split('\n').find((l) => l.includes(`service bad${i}.${Z}.: `));
      assert.ok(line, `a problem for bad${i}: ${r.stderr}`);
      assert.match(line, /bad\.yaml:\d+: /);
      assert.match(line, want);
    });
  });
});
