#!/usr/bin/env node
// `npm start`'s and `npm test`'s build step: compiles src/ to dist/ only when dist/ is older than
// what it is built from (dist-fresh.mjs), so a start on an up-to-date checkout answers in about a
// second instead of waiting for the compiler (tsc's own incremental mode still spends seconds
// loading and hashing every file), and the tests run the program as built from the sources they
// test. `--check` only says "fresh" (exit 0) or "stale" (exit 1); `--stamp` writes the stamp
// (`npm run build` does, after tsc succeeds).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { distIsFresh, stampPath } from './dist-fresh.mjs';

const root = process.cwd();
if (process.argv.includes('--stamp')) {
  writeFileSync(stampPath(root), new Date().toISOString() + '\n');
  process.exit(0);
}
const fresh = distIsFresh(root);
if (process.argv.includes('--check')) {
  process.stdout.write(fresh ? 'fresh\n' : 'stale\n');
  process.exit(fresh ? 0 : 1);
}
if (fresh) process.exit(0);
// tsc is silent for tens of seconds: say why `npm start` waits (stderr, so stdout stays the program's).
process.stderr.write('dist/ is older than src/: building (tsc, ~30 s)…\n');
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
