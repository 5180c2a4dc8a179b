// Whether dist/ is the build of the sources as they are now: dist/.built (written by
// `npm run build` after tsc succeeds) is at least as new as every file under src/, the tsconfigs
// and package-lock.json. tsc's own dist/.tsbuildinfo is not rewritten when a touched file's
// content is unchanged, so its time cannot say whether a build ran. Used by build-if-stale.mjs
// (`npm start`, `npm test`) and by the tests' test/helpers/meridian-bin.ts.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

/** The stamp `npm run build` writes after tsc succeeds. */
export function stampPath(root) {
  return join(root, 'dist', '.built');
}

export function distIsFresh(root) {
  const built = mtime(stampPath(root));
  const inputs = Math.max(newestUnder(join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => mtime(join(root, f))));
  return built >= 0 && built >= inputs;
}
