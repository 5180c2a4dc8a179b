/**
 * The failure drills of issue 15 as part of `npm test` (which is what CI runs): one run of
 * `npm run e2e`'s program, then one test per drill that fails when any of its figures misses its
 * goal. `npm test` runs this file after every other one, alone, so the drills' timings do not
 * compete with other test files for the CPU. A machine where the drills cannot run (not root, no
 * `ip netns`) fails here loudly; nothing is skipped. Goals on elapsed time fail the suite in CI;
 * elsewhere a miss of only those is a TODO (see todoOf).
 *
 * PENDING lists the drills that wait on work not yet on main, with what they wait for. They still
 * run and print their figures; their failures are reported as TODO instead of failing the suite
 * (a pending drill that passes shows as a passing TODO: then its entry goes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Row } from './table.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const LIMIT_MS = 10 * 60_000;

const PENDING: Record<string, string> = {};

interface Results {
  ok: boolean;
  error?: string;
  rows: Row[];
}

function runDrills(): Promise<{ results: Results | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MERIDIAN_E2E_TIMEOUT_MS: String(LIMIT_MS - 30_000) } });
    let out = '';
    const take = (d: Buffer): void => {
      out += d.toString();
      process.stderr.write(d); // the table and the drills' progress, as `npm run e2e` prints them
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('E2E-RESULTS '));
      resolve({ results: line ? (JSON.parse(line.slice('E2E-RESULTS '.length)) as Results) : null, output: out });
    });
  });
}

test('e2e failure drills (issue 15)', { timeout: LIMIT_MS }, async (t) => {
  const { results, output } = await runDrills();
  assert.ok(results, `npm run e2e printed no results:\n${output.slice(-3000)}`);
  assert.equal(results.error, undefined, `the drills could not run: ${results.error}`);
  const byDrill = new Map<string, Row[]>();
  for (const r of results.rows) byDrill.set(r.drill, [...(byDrill.get(r.drill) ?? []), r]);
  assert.ok(byDrill.size > 1, 'no drill ran');
  for (const [drill, rows] of byDrill) {
    const n = drill.split(' ')[0]!;
    const misses = rows.filter((r) => r.pass === false);
    await t.test(drill, todoOf(n, misses), () => {
      assert.deepEqual(
        misses.map((r) => `${r.figure}: ${r.value} (goal ${r.goal})`),
        [],
        'figures that missed their goal',
      );
    });
  }
});

/**
 * Why a drill's misses do not fail the suite, if they do not: it is PENDING, or (outside CI) only
 * goals on elapsed time were missed. The team's tests assert no timings, since a shared machine's
 * load moves them; the drills' goals are timings by nature, so CI (CI=true, .ci/run) judges them,
 * and elsewhere a timing miss is reported as TODO with the load it was measured under.
 */
function todoOf(n: string, misses: Row[]): { todo?: string } {
  if (PENDING[n]) return { todo: PENDING[n] };
  if (misses.length > 0 && misses.every((r) => r.timing) && !process.env.CI) {
    return { todo: `timing goals are judged in CI; missed here with load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores` };
  }
  return {};
}
