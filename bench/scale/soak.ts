/**
 * `npm run bench:soak` (issue 17; not in CI, where test/integration/soak.test.ts runs 60 s of it):
 * `--seconds` (default 600) at half the node's measured maximum on the scale deployment, with
 * flips, config writes and varied ECS (soak-run.ts). Prints the figures, a row per minute and the
 * targets: 0 % loss, every answer valid, p99 < 1 ms, RSS within ±10 % after warm-up, no event-loop
 * stall over 50 ms (the node's own metric). Exits 1 when a target fails.
 *
 *   node --import tsx bench/scale/soak.ts [--seconds 600] [--fraction 0.5] [--qps N] [--max-seconds 5]
 *     [--regions 200] [--services 1000] [--endpoints 10000] [--flips-per-second 100]
 *     [--write-every-ms 2000] [--scrape-every-ms 15000] [--cpu-prof DIR] [--json FILE]
 * @module
 */
import { writeFileSync } from 'node:fs';
import { parseCli } from './cli.js';
import { flipRows, resourceRows, setupRows } from './report.js';
import { minuteRows, runSoak, soakTargets, warmUpMs } from './soak-run.js';
import { markdown } from './stats.js';

const cli = parseCli({
  seconds: { type: 'string', default: '600' },
  'write-every-ms': { type: 'string', default: '2000' },
});
const { values: a, num, shape, flipsPerSecond, build } = cli;
const seconds = num('seconds', 10, 24 * 3_600);
const result = await runSoak({
  shape,
  build,
  seconds,
  fraction: num('fraction', 0.01, 1),
  ...(a.qps !== undefined ? { qps: num('qps', 1, 1_000_000) } : {}),
  maxSeconds: a.qps !== undefined ? 0 : num('max-seconds', 1, 120),
  flipsPerSecond,
  writeEveryMs: num('write-every-ms', 100, 600_000),
  scrapeEveryMs: num('scrape-every-ms', 1_000, 600_000),
  ...(a['cpu-prof'] ? { cpuProf: a['cpu-prof'] } : {}),
  log: (line) => process.stderr.write(`bench:soak: ${line}\n`),
});
if (a.json) writeFileSync(a.json, JSON.stringify(result));
const targets = soakTargets(result, seconds);
const rows = [
  ...setupRows(result, shape, seconds),
  ...flipRows(result, seconds),
  ...resourceRows(result),
  ['warm-up (excluded from the RSS target)', `${warmUpMs(seconds) / 1000} s`] as [string, string],
];
console.log(markdown(rows, targets));
console.log('');
console.log(minuteRows(result));
process.exitCode = targets.every((t) => t.pass) ? 0 : 1;
