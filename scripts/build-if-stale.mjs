#!/usr/bin/env node
// `npm start`'s build step: compiles src/ to dist/ only when dist/ is older than what it is built
// from, so a start on an up-to-date checkout answers in about a second instead of waiting for the
// compiler (tsc's own incremental mode still spends seconds loading and hashing every file).
// `--check` only says "fresh" (exit 0) or "stale" (exit 1). Stale: dist/.built is missing or older
// than a file under src/, a tsconfig or package-lock.json. `npm run build` writes that stamp
// (`--stamp`) after tsc succeeds: tsc's own dist/.tsbuildinfo is not rewritten when a touched file's
// content is unchanged, so its time cannot say whether a build ran.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function newestUnder(dir) {
  let newest = mtime(dir);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : mtime(path));
  }
  return newest;
}

const stamp = join(root, 'dist', '.built');
if (process.argv.includes('--stamp')) {
  writeFileSync(stamp, new Date().toISOString() + '\n');
  process.exit(0);
}
const built = mtime(stamp);
const inputs = Math.max(newestUnder(join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => mtime(join(root, f))));
const fresh = built >= 0 && built >= inputs;

if (process.argv.includes('--check')) {
  process.stdout.write(fresh ? 'fresh\n' : 'stale\n');
  process.exit(fresh ? 0 : 1);
}
if (fresh) process.exit(0);
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
