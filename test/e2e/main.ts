/**
 * `npm run e2e`: builds the e2e internet (topology.ts), runs Meridian on it from the built CLI and
 * runs the failure drills of issue 15, printing a table of figures, goals and verdicts.
 *
 * Two stages. The outer process (where it is started, as root) checks that the topology can be
 * built at all, builds the CLI if the build is stale, sweeps namespaces of dead earlier runs,
 * builds this run's namespaces and then runs the inner stage on the operator host; whatever
 * happens (exit, a signal, a crash of the inner stage, the overall time limit) it kills what runs in
 * its namespaces and deletes them. The inner stage starts the system, runs the drills and prints
 * the table, and a last line `E2E-RESULTS {json}` for test/e2e/e2e.test.ts.
 *
 * Options: `--drills 1,2,8` (a subset), `--readme` (write the table into README.md), `--keep`
 * (keep the run directory with every process's log). Env: `MERIDIAN_E2E_NS` the namespace prefix
 * base (default `mrd`: namespaces are `mrd-<pid>-<host>`), `MERIDIAN_E2E_TIMEOUT_MS` (default 9 min).
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './build.js';
import { runInner } from './run.js';
import { allHosts, OPS } from './plan.js';
import { Topology, runPrefix, sweepStale, unsupportedReason } from './topology.js';

const { values } = parseArgs({
  options: {
    inner: { type: 'boolean', default: false },
    drills: { type: 'string' },
    readme: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

function fail(msg: string): never {
  process.stderr.write(`\ne2e: CANNOT RUN: ${msg}\nThe drills did not run; this is a failure, not a skip.\n`);
  process.stdout.write(`E2E-RESULTS ${JSON.stringify({ ok: false, error: msg, rows: [] })}\n`);
  process.exit(1);
}

async function outer(): Promise<number> {
  const why = unsupportedReason();
  if (why) fail(why);
  ensureBuilt((line) => process.stderr.write(`e2e: ${line}\n`));
  const base = process.env.MERIDIAN_E2E_NS ?? 'mrd';
  const swept = sweepStale(base);
  if (swept.length) process.stderr.write(`e2e: removed ${swept.length} namespaces of dead runs (${swept.slice(0, 3).join(', ')}…)\n`);
  const topo = new Topology(runPrefix(base));
  const runDir = mkdtempSync(join(tmpdir(), 'meridian-e2e-'));
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    topo.destroy();
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
  try {
    topo.build(allHosts());
  } catch (err) {
    fail(`cannot build the topology: ${(err as Error).message}`);
  }
  process.stderr.write(`e2e: ${topo.hosts.size + 1} namespaces ${topo.prefix}*, logs in ${runDir}\n`);
  const args = process.argv.slice(2).filter((a) => a !== '--inner');
  const inner = spawn('ip', ['netns', 'exec', topo.ns(OPS.host), process.execPath, ...process.execArgv, process.argv[1]!, '--inner', ...args], {
    stdio: 'inherit',
    env: { ...process.env, E2E_PREFIX: topo.prefix, E2E_RUN_DIR: runDir },
  });
  const limitMs = Number(process.env.MERIDIAN_E2E_TIMEOUT_MS ?? 9 * 60_000);
  const timer = setTimeout(() => {
    process.stderr.write(`e2e: the run passed its ${limitMs} ms limit; stopping it\n`);
    inner.kill('SIGKILL');
  }, limitMs);
  const code = await new Promise<number>((resolve) => inner.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  clearTimeout(timer);
  cleanup();
  if (code === 0 && !values.keep) rmSync(runDir, { recursive: true, force: true });
  else process.stderr.write(`e2e: logs kept in ${runDir}\n`);
  return code;
}

async function main(): Promise<number> {
  if (!values.inner) return outer();
  const prefix = process.env.E2E_PREFIX;
  const runDir = process.env.E2E_RUN_DIR;
  if (!prefix || !runDir) throw new Error('--inner needs E2E_PREFIX and E2E_RUN_DIR (it is started by the outer stage)');
  const only = values.drills ? values.drills.split(',').map(Number) : null;
  return runInner(Topology.attach(prefix, allHosts()), runDir, { only, readme: values.readme });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`e2e: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
