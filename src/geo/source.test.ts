/**
 * GeoSource: swap on reload, the version and the swap hook, rejection of bad files with the old
 * database still answering, the cron schedule, and the embedded default's path.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { FIXTURE_PATHS } from '../../geodb/make-fixture.js';
import { GeoSource, resolveDatabasePath } from './source.js';
import type { GeoDatabase } from './reader.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-geo-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A fresh copy of the city fixture to reload over. */
function setup(): { file: string; source: GeoSource } {
  const file = join(dir, `db-${n++}.mmdb`);
  copyFileSync(FIXTURE_PATHS.city, file);
  return { file, source: new GeoSource({ path: file }) };
}

test('a new valid file is swapped in: version bumps, onSwap is called, lookups use it', () => {
  const { file, source } = setup();
  assert.equal(source.version, 1);
  assert.equal(source.current.lookup('2.16.0.1')?.subdivision, 'DE-HE');
  const swaps: Array<[GeoDatabase, number]> = [];
  source.onSwap((db, v) => swaps.push([db, v]));
  copyFileSync(FIXTURE_PATHS.flat, file);
  assert.deepEqual(source.reload(), { ok: true, swapped: true });
  assert.equal(source.version, 2);
  assert.equal(swaps.length, 1);
  assert.equal(swaps[0]![0], source.current);
  assert.equal(swaps[0]![1], 2);
  assert.equal(source.current.description.type, 'Meridian-Test-Flat');
  assert.equal(source.current.lookup('2.16.0.1')?.subdivision, 'DE-HE', 'the flat file names Hesse: the same code');
  assert.deepEqual(source.metrics, { reloadsOk: 1, reloadsFailed: 0, buildEpoch: 1_767_225_600 });
});

test('reloading an unchanged file does not swap (the decision cache stays)', () => {
  const { source } = setup();
  let calls = 0;
  source.onSwap(() => calls++);
  const before = source.current;
  assert.deepEqual(source.reload(), { ok: true, swapped: false });
  assert.equal(source.current, before);
  assert.equal(source.version, 1);
  assert.equal(calls, 0);
});

test('a truncated, random, empty or missing file is rejected and the old database keeps answering', () => {
  const { file, source } = setup();
  const good = readFileSync(FIXTURE_PATHS.flat);
  const before = source.current;
  const bad: Array<[string, () => void, RegExp]> = [
    ['first half', () => writeFileSync(file, good.subarray(0, good.length >> 1)), /no metadata marker/],
    ['random bytes', () => writeFileSync(file, randomBytes(good.length)), /geo database/],
    ['empty', () => writeFileSync(file, ''), /no metadata marker/],
    ['missing', () => rmSync(file), /ENOENT/],
  ];
  let calls = 0;
  source.onSwap(() => calls++);
  for (const [name, damage, re] of bad) {
    damage();
    const r = source.reload();
    assert.equal(r.ok, false, name);
    assert.match(!r.ok ? r.error : '', re, name);
    assert.equal(source.current, before, name);
    assert.equal(source.current.lookup('2.16.32.200')?.country, 'GB', `${name}: still answering`);
  }
  assert.equal(source.version, 1);
  assert.equal(calls, 0);
  assert.deepEqual(source.metrics, { reloadsOk: 0, reloadsFailed: 4, buildEpoch: 1_767_225_600 });
  writeFileSync(file, good);
  assert.deepEqual(source.reload(), { ok: true, swapped: true }, 'a good file after bad ones goes live');
  assert.equal(source.version, 2);
});

test('a throwing swap listener neither undoes the swap nor starves the others; unsubscribe works', () => {
  const { file, source } = setup();
  const seen: number[] = [];
  source.onSwap(() => {
    throw new Error('listener bug');
  });
  const off = source.onSwap((_db, v) => seen.push(v));
  copyFileSync(FIXTURE_PATHS.flat, file);
  assert.deepEqual(source.reload(), { ok: true, swapped: true });
  off();
  copyFileSync(FIXTURE_PATHS.city, file);
  assert.deepEqual(source.reload(), { ok: true, swapped: true });
  assert.deepEqual(seen, [2]);
  assert.equal(source.version, 3);
});

test('the constructor refuses a database that cannot be used', () => {
  const file = join(dir, 'bad.mmdb');
  writeFileSync(file, 'not a database');
  assert.throws(() => new GeoSource({ path: file }), /geo database .*bad\.mmdb: no metadata marker/);
});

test('the cron schedule reloads; stop() ends it', async () => {
  const { file, source } = setup();
  assert.throws(() => source.startSchedule('every day'), /not a cron expression/);
  source.startSchedule('* * * * * *'); // every second
  try {
    copyFileSync(FIXTURE_PATHS.flat, file);
    const deadline = Date.now() + 5000;
    while (source.version === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(source.version, 2, 'reloaded by the schedule');
  } finally {
    source.stop();
  }
  copyFileSync(FIXTURE_PATHS.city, file);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(source.version, 2, 'no reload after stop()');
});

test('`embedded` resolves to the installed npm database', () => {
  const path = resolveDatabasePath('embedded');
  assert.match(path, /@ip-location-db\/geo-whois-asn-country-mmdb\/geo-whois-asn-country\.mmdb$/);
  assert.ok(existsSync(path));
  assert.equal(resolveDatabasePath('/srv/geo/City.mmdb'), '/srv/geo/City.mmdb');
});
