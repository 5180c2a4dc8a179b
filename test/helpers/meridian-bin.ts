/**
 * Test helper: the argv prefix that runs the real `meridian` program, as tests spawn it.
 *
 * - `node dist/cli.js` when dist/ is the build of the sources as they are now (scripts/dist-fresh.mjs):
 *   it is what `npm start` and the package's bin run, and `npm test` builds it first when stale
 *   (scripts/build-if-stale.mjs). It starts with about a third of the CPU of the sources under tsx
 *   (0.27 against 0.9 s user for `--version` on the 2-core CI machine), which over the suite's
 *   many hundreds of processes decides whether CI fits its budget. Coverage maps dist/ back to src/
 *   through tsc's source maps (.c8rc.json includes dist/).
 * - `node --import tsx src/cli.ts` when dist/ is stale or missing (a test file run on its own
 *   after an edit, without a build) or when `MERIDIAN_TEST_FROM=src` asks for it: a test never runs
 *   a program older than the sources it tests.
 *
 * ```ts
 * spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', file], { encoding: 'utf8' });
 * ```
 * @module
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsFresh } from '../../scripts/dist-fresh.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The sources' entry point (a path some tests print or check). */
export const CLI_SOURCE = path.join(REPO_ROOT, 'src/cli.ts');
/** tsx by its resolved URL, so the sources run from any working directory. */
const TSX = import.meta.resolve('tsx');

function chooseEntry(): readonly string[] {
  const from = process.env.MERIDIAN_TEST_FROM;
  if (from !== undefined && from !== 'src' && from !== 'dist') throw new Error(`MERIDIAN_TEST_FROM must be src or dist, got ${from}`);
  if (from === 'dist' || (from !== 'src' && distIsFresh(REPO_ROOT))) return [path.join(REPO_ROOT, 'dist/cli.js')];
  return ['--import', TSX, CLI_SOURCE];
}

/** Node's arguments up to the entry point: append the subcommand and its arguments. */
export const MERIDIAN_ENTRY: readonly string[] = Object.freeze(chooseEntry());
/** `[node, ...MERIDIAN_ENTRY]`. */
export const MERIDIAN: readonly string[] = Object.freeze([process.execPath, ...MERIDIAN_ENTRY]);

/** MERIDIAN followed by `args`, as one argv. */
export function meridianCommand(...args: string[]): string[] {
  return [...MERIDIAN, ...args];
}
