import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeStaleTemps, tempPathFor, writeFileAtomic } from './atomic.js';
import { LocalCopyFile, readLocalCopy, writeLocalCopy, type LocalCopy } from './local-copy.js';
import { doc } from './store.contract.js';
import type { VersionRecord } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'meridian-local-copy-'));
after(() => rmSync(root, { recursive: true, force: true }));

const record = (version: number): VersionRecord => ({
  version,
  author: 'alice',
  time: '2026-01-02T03:04:05.000Z',
  reason: 'r',
  action: 'zone.update',
  target: 'zone/gslb.example.com',
  document: doc(version),
  diff: [{ op: 'replace', path: '/zones/0/records/0/data', before: 'a', after: 'b' }],
});

describe('writeFileAtomic', () => {
  it('replaces the content, keeps the mode it was asked for, and leaves no temp file', async () => {
    const dir = join(root, 'atomic');
    mkdirSync(dir);
    const file = join(dir, 'x.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two', 0o600);
    assert.equal(readFileSync(file, 'utf8'), 'two');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['x.json']);
  });

  it('a failed rename removes its temp file and leaves the target alone', async () => {
    const dir = join(root, 'atomic-fail');
    mkdirSync(join(dir, 'target'), { recursive: true });
    writeFileSync(join(dir, 'target', 'keep'), 'k');
    await assert.rejects(writeFileAtomic(join(dir, 'target'), 'data'), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(readdirSync(dir), ['target']);
    assert.equal(readFileSync(join(dir, 'target', 'keep'), 'utf8'), 'k');
  });

  it('temp names are hidden, per target, and found by removeStaleTemps', async () => {
    const dir = join(root, 'temps');
    mkdirSync(dir);
    const tmp = tempPathFor(join(dir, 'a.json'));
    assert.match(tmp, /\/\.a\.json\.\d+\.[0-9a-f]{8}\.tmp$/);
    writeFileSync(tmp, 'half');
    writeFileSync(join(dir, 'a.json'), 'whole');
    assert.deepEqual(await removeStaleTemps(dir), [tmp.slice(dir.length + 1)]);
    assert.deepEqual(readdirSync(dir), ['a.json']);
  });
});

const copyOf = (version: number): LocalCopy => ({
  record: record(version),
  tokens: [{ name: 'ci', role: 'operator', sha256: 'a'.repeat(64), createdAt: '2026-01-02T03:04:05.000Z', createdBy: 'alice' }],
  audit: [{ seq: 7, time: '2026-01-02T03:04:05.000Z', author: 'alice', action: 'token.create', target: 'token/ci', version: null, reason: '' }],
  overrides: [{ scope: 'region/eu', state: 'down' }],
});

describe('local copy', () => {
  it('round-trips a copy, creating the directory, readable by its owner only; a newer copy replaces it', async () => {
    const path = join(root, 'node', 'deep', 'config.json');
    assert.equal(readLocalCopy(path), null);
    await writeLocalCopy(path, copyOf(3));
    assert.deepEqual(readLocalCopy(path), copyOf(3));
    assert.equal(statSync(path).mode & 0o777, 0o600, 'it holds token hashes');
    await writeLocalCopy(path, copyOf(4));
    assert.deepEqual(readLocalCopy(path), copyOf(4));
    assert.deepEqual(readdirSync(join(root, 'node', 'deep')), ['config.json']);
  });

  it('a copy in the first format (a bare version record) reads as that record with empty lists', () => {
    const path = join(root, 'v1.json');
    writeFileSync(path, JSON.stringify(record(5)));
    assert.deepEqual(readLocalCopy(path), { record: record(5), tokens: [], audit: [], overrides: [] });
  });

  it('a damaged copy throws a clear error naming the file', () => {
    const path = join(root, 'bad.json');
    writeFileSync(path, JSON.stringify(record(1)).slice(0, 40));
    assert.throws(() => readLocalCopy(path), /local config copy .*bad\.json is corrupt: not valid JSON/);
    writeFileSync(path, JSON.stringify({ ...record(1), version: 0 }));
    assert.throws(() => readLocalCopy(path), /bad\.json is corrupt: 'version'/);
    writeFileSync(path, JSON.stringify({ format: 2, ...copyOf(1), tokens: [{ name: 'x' }] }));
    assert.throws(() => readLocalCopy(path), /bad\.json is corrupt: tokens\[0\]/);
    writeFileSync(path, JSON.stringify({ format: 2, ...copyOf(1), audit: {} }));
    assert.throws(() => readLocalCopy(path), /bad\.json is corrupt: 'audit' must be a list/);
  });

  it('refuses to write a record that could not be read back', async () => {
    const path = join(root, 'refused.json');
    await assert.rejects(writeLocalCopy(path, { ...copyOf(1), record: { ...record(1), document: null } as unknown as VersionRecord }), /'document'/);
    assert.equal(readLocalCopy(path), null);
  });

  it('a path that is not a readable file is an error, not "no copy"', () => {
    assert.throws(() => readLocalCopy(root), /EISDIR/);
  });
});

describe('LocalCopyFile', () => {
  it('merges parts, holds them until there is a version, and skips writes that change nothing', async () => {
    const path = join(root, 'file', 'copy.json');
    const errors: Error[] = [];
    const file = new LocalCopyFile(path, (e) => errors.push(e));
    assert.equal(file.read(), null);
    await file.update({ tokens: copyOf(1).tokens });
    assert.equal(readLocalCopy(path), null, 'nothing written before a version');
    await file.update({ record: record(2) });
    assert.deepEqual(readLocalCopy(path), { record: record(2), tokens: copyOf(1).tokens, audit: [], overrides: [] });
    const before = statSync(path).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    await file.update({ tokens: copyOf(1).tokens });
    assert.equal(statSync(path).mtimeMs, before, 'same content: not rewritten');
    await file.update({ overrides: copyOf(1).overrides });
    assert.deepEqual(readLocalCopy(path)!.overrides, copyOf(1).overrides);
    assert.deepEqual(errors, []);
  });
});
