/**
 * `npm start` compiles only when dist/ is stale (issue 18: a start on an up-to-date checkout must
 * not wait for the compiler). The real scripts/build-if-stale.mjs on a throwaway project tree.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const SCRIPT = new URL('../../scripts/build-if-stale.mjs', import.meta.url).pathname;

function run(cwd: string, flag: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, flag], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout.trim() };
}

describe('scripts/build-if-stale.mjs', () => {
  it('is stale without a build, fresh after one, stale again once a source file is newer', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-stale-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'src', 'dns'), { recursive: true });
    writeFileSync(join(dir, 'src', 'dns', 'udp.ts'), 'export {};\n');
    writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
    assert.deepEqual(run(dir, '--check'), { status: 1, out: 'stale' }, 'no dist/ at all');
    mkdirSync(join(dir, 'dist'));
    assert.deepEqual(run(dir, '--stamp'), { status: 0, out: '' });
    assert.deepEqual(run(dir, '--check'), { status: 0, out: 'fresh' });
    // A source file edited after the build, deep in the tree.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src', 'dns', 'udp.ts'), later, later);
    assert.deepEqual(run(dir, '--check'), { status: 1, out: 'stale' });
    const rebuilt = new Date(Date.now() + 90_000);
    utimesSync(join(dir, 'dist', '.built'), rebuilt, rebuilt);
    assert.deepEqual(run(dir, '--check'), { status: 0, out: 'fresh' }, 'rebuilt after the edit');
    utimesSync(join(dir, 'tsconfig.json'), new Date(Date.now() + 120_000), new Date(Date.now() + 120_000));
    assert.deepEqual(run(dir, '--check'), { status: 1, out: 'stale' }, 'a newer tsconfig');
  });

  it('says on stderr that it builds, before the build runs; says nothing when fresh', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-stale-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'cli.ts'), 'export {};\n');
    // The build this tree has: a stand-in for tsc that writes the stamp as `npm run build` does.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'stale-tree', private: true, scripts: { build: `echo building >&2 && mkdir -p dist && node ${SCRIPT} --stamp` } }));
    const stale = spawnSync(process.execPath, [SCRIPT], { cwd: dir, encoding: 'utf8' });
    assert.equal(stale.status, 0, stale.stderr);
    assert.match(stale.stderr, /^dist\/ is older than src\/: building \(tsc, ~30 s\)…\n[^]*building\n/);
    const fresh = spawnSync(process.execPath, [SCRIPT], { cwd: dir, encoding: 'utf8' });
    assert.deepEqual([fresh.status, fresh.stderr], [0, '']);
  });
});
