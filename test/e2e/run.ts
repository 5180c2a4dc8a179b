/**
 * The drills' stage (on the operator host): starts the system, runs each drill within its time
 * bound, brings the system back to its steady state between drills, prints the table and the
 * `E2E-RESULTS` line. A drill that throws or overruns is a failed row, never a skipped one.
 * @module
 */
import { DRILLS } from './drills/index.js';
import { writeReadme } from './readme.js';
import { System } from './system.js';
import { failed, formatTable, machine, row, type Row } from './table.js';
import type { Topology } from './topology.js';

export interface RunOptions {
  only: number[] | null;
  readme: boolean;
}

const say = (line: string): void => void process.stderr.write(`e2e: ${line}\n`);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}

export async function runInner(topo: Topology, runDir: string, opts: RunOptions): Promise<number> {
  const sys = new System(topo, runDir);
  const rows: Row[] = [];
  const started = Date.now();
  try {
    say('starting redis, backends, DNS nodes, forwarders, probes and client agents');
    await sys.start();
    rows.push(row('0 start', 'every process up and the steady state reached', `${((Date.now() - started) / 1000).toFixed(1)} s`, '—', null));
    for (const drill of DRILLS.filter((d) => !opts.only || opts.only.includes(d.n))) {
      say(`drill ${drill.n}: ${drill.title}`);
      const t0 = Date.now();
      // Endpoint flips seen by the probes: those the drill did not cause are a loaded machine's timeouts.
      const flips0 = await sys.probeFlips();
      try {
        const got = await withTimeout(
          drill.run(sys, (m) => say(`  ${drill.n}: ${m}`)),
          drill.timeoutMs,
          `drill ${drill.n}`,
        );
        rows.push(...got);
        for (const r of got) say(`  ${r.pass === false ? 'FAIL' : 'ok  '} ${r.figure}: ${r.value} (goal ${r.goal})`);
      } catch (err) {
        rows.push(row(`${drill.n} ${drill.title}`, 'the drill ran to its end', `no: ${(err as Error).message.split('\n')[0]}`, 'yes', false));
        say(`  FAIL ${(err as Error).stack ?? String(err)}`);
      }
      say(`  drill ${drill.n} took ${((Date.now() - t0) / 1000).toFixed(1)} s; probe flips meanwhile: ${(await sys.probeFlips()) - flips0}; back to the steady state`);
      try {
        await sys.settle(45_000);
      } catch (err) {
        rows.push(row(`${drill.n} ${drill.title}`, 'the system returns to its steady state afterwards', `no: ${(err as Error).message}`, 'yes', false));
      }
    }
  } catch (err) {
    rows.push(row('0 start', 'every process up and the steady state reached', `no: ${(err as Error).message.split('\n')[0]}`, 'yes', false));
    say(`start failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await sys.stop();
  }
  const total = (Date.now() - started) / 1000;
  const where = machine();
  process.stdout.write(`\n${formatTable(rows)}\n\nMeasured on ${where}; whole run ${total.toFixed(0)} s.\n`);
  if (opts.readme) writeReadme(rows, where, total);
  const bad = failed(rows);
  process.stdout.write(`E2E-RESULTS ${JSON.stringify({ ok: bad.length === 0, rows, machine: where, seconds: total })}\n`);
  return bad.length === 0 ? 0 : 1;
}
