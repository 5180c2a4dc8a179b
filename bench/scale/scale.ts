/**
 * `npm run bench:scale` (issue 17): 10,000 endpoints in 200 regions and 1,000 services on a real
 * `meridian serve` (Redis), 1 % of the endpoints flipping a second through a real `meridian probe`,
 * endpoints registered through the admin API meanwhile. Prints a markdown table and the targets
 * (PASS/FAIL); exits 1 when one fails. Bounded by `--seconds` and the counts below.
 *
 *   node --import tsx bench/scale/scale.ts [--seconds 30] [--max-seconds 5] [--fraction 0.5] [--qps N]
 *     [--regions 200] [--services 1000] [--endpoints 10000] [--flips-per-second 100]
 *     [--register-every-ms 1000] [--cpu-prof DIR] [--json FILE]
 * @module
 */
import { writeFileSync } from 'node:fs';
import { parseCli } from './cli.js';
import { dnsTarget, flipRows, flipTarget, resourceRows, rssTarget, setupRows, versionTarget } from './report.js';
import { scaleRun } from './run.js';
import { markdown } from './stats.js';

const cli = parseCli({
  seconds: { type: 'string', default: '30' },
  'flippable-per-region': { type: 'string', default: '3' },
  'check-interval-ms': { type: 'string', default: '1000' },
  'register-every-ms': { type: 'string', default: '1000' },
  'status-every-ms': { type: 'string', default: '500' },
});
const { values: a, num, shape, flipsPerSecond, build } = cli;
const seconds = num('seconds', 1, 3_600);
const result = await scaleRun({
  shape,
  build,
  flippablePerRegion: num('flippable-per-region', 1, 50),
  checkIntervalMs: num('check-interval-ms', 100, 60_000),
  flipsPerSecond,
  seconds,
  maxSeconds: num('max-seconds', 0, 120),
  fraction: num('fraction', 0.01, 1),
  ...(a.qps !== undefined ? { qps: num('qps', 1, 1_000_000) } : {}),
  registerEveryMs: num('register-every-ms', 50, 600_000),
  statusEveryMs: num('status-every-ms', 50, 600_000),
  deregister: false,
  scrapeEveryMs: num('scrape-every-ms', 1_000, 600_000),
  rssEveryMs: 1_000,
  seriesMs: 10_000,
  poolSize: 65_536,
  clientCount: 4_096,
  ...(a['cpu-prof'] ? { cpuProf: a['cpu-prof'] } : {}),
  log: (line) => process.stderr.write(`bench:scale: ${line}\n`),
});
if (a.json) writeFileSync(a.json, JSON.stringify(result));
const targets = [dnsTarget(result, `at ${Math.round(result.rate)} qps during flips`), flipTarget(result), rssTarget(result), versionTarget(result)];
console.log(markdown([...setupRows(result, shape, seconds), ...flipRows(result, seconds), ...resourceRows(result)], targets));
process.exitCode = targets.every((t) => t.pass) ? 0 : 1;
