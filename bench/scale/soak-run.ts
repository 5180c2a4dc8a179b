/**
 * The soak (issue 17): a scale run (run.ts) held for minutes at half the node's measured maximum,
 * with geo, weighted, sticky, failover and multivalue names, 4,096 client subnets, health flips
 * through a real probe and config writes (an endpoint registered, then deregistered, every
 * `writeEveryMs`), judged on loss, every answer's validity for its client, p99, RSS after warm-up
 * and the node's own event-loop delay metric. Used by `npm run bench:soak` (soak.ts) and, for 60 s
 * at a fixed modest rate, by test/integration/soak.test.ts.
 * @module
 */
import type { DeploymentShape } from './deployment.js';
import type { Build } from './harness.js';
import { scaleRun, type RunResult } from './run.js';
import { fmtInt, fmtMiB, fmtMs, type Target } from './stats.js';

export interface SoakOptions {
  shape: DeploymentShape;
  build: Build;
  seconds: number;
  /** A fixed rate; without it, `fraction` of the measured maximum. */
  qps?: number;
  fraction: number;
  maxSeconds: number;
  flipsPerSecond: number;
  writeEveryMs: number;
  scrapeEveryMs: number;
  giveUpMs?: number;
  lossTimeoutMs?: number;
  cpuProf?: string;
  log: (line: string) => void;
}

/** RSS samples after warm-up: the first one is the reference; the others' spread around it. */
export function rssAfterWarmUp(r: RunResult, warmUpMs: number): { reference: number; min: number; max: number; samples: number } {
  const after = r.rss.filter(([t]) => t >= warmUpMs).map(([, b]) => b);
  const reference = after[0] ?? NaN;
  return { reference, min: Math.min(...after), max: Math.max(...after), samples: after.length };
}

/** Warm-up: a tenth of the run, at most a minute (JIT, caches, the first GCs). */
export const warmUpMs = (seconds: number): number => Math.min(60_000, seconds * 100);

export async function runSoak(o: SoakOptions): Promise<RunResult> {
  return scaleRun({
    shape: o.shape,
    build: o.build,
    flippablePerRegion: 3,
    checkIntervalMs: 1_000,
    flipsPerSecond: o.flipsPerSecond,
    seconds: o.seconds,
    maxSeconds: o.maxSeconds,
    fraction: o.fraction,
    ...(o.qps !== undefined ? { qps: o.qps } : {}),
    registerEveryMs: o.writeEveryMs,
    statusEveryMs: 2_000,
    deregister: true,
    scrapeEveryMs: o.scrapeEveryMs,
    rssEveryMs: 5_000,
    seriesMs: 60_000,
    poolSize: 65_536,
    clientCount: 4_096,
    ...(o.giveUpMs ? { giveUpMs: o.giveUpMs } : {}),
    ...(o.lossTimeoutMs ? { lossTimeoutMs: o.lossTimeoutMs } : {}),
    ...(o.cpuProf ? { cpuProf: o.cpuProf } : {}),
    log: o.log,
  });
}

export function soakTargets(r: RunResult, seconds: number): Target[] {
  const l = r.load;
  const rss = rssAfterWarmUp(r, warmUpMs(seconds));
  const spread = Math.max(rss.max / rss.reference - 1, 1 - rss.min / rss.reference);
  const stall = Math.max(0, ...r.eventLoop.map(([, s]) => s)) * 1000;
  return [
    { what: 'loss (queries sent vs answered)', measured: `${fmtInt(l.lost)} of ${fmtInt(l.sent)}`, target: '0', pass: l.lost === 0 && l.sent > 0 },
    { what: 'answers valid for their client', measured: `${fmtInt(l.invalid)} invalid${l.examples.length ? `: ${l.examples[0]}` : ''}`, target: '0 invalid', pass: l.invalid === 0 },
    { what: 'DNS p99', measured: `${fmtMs(l.latency.p99)} ms`, target: '< 1 ms', pass: l.latency.p99 < 1 },
    {
      what: 'RSS after warm-up',
      measured: `${fmtMiB(rss.min)}–${fmtMiB(rss.max)} around ${fmtMiB(rss.reference)} (±${(spread * 100).toFixed(1)} %, ${rss.samples} samples)`,
      target: 'within ±10 %',
      pass: rss.samples > 1 && spread <= 0.1,
    },
    { what: 'event-loop stalls (serve metric, max per scrape)', measured: `max ${fmtMs(stall)} ms over ${r.eventLoop.length} scrapes`, target: '≤ 50 ms', pass: r.eventLoop.length > 0 && stall <= 50 },
  ];
}

/** Per-minute rows: answered a second, p99 and max of the minute, RSS at its end, event-loop max. */
export function minuteRows(r: RunResult): string {
  const lines = ['| minute | answered/s | p99 ms | max ms | RSS | event-loop max ms |', '|---|---|---|---|---|---|'];
  r.series
    .filter((p) => p.phase === 'run')
    .forEach((p, i) => {
      const from = i * 60_000;
      const to = from + 60_000;
      const rss = r.rss.filter(([t]) => t < to).at(-1)?.[1] ?? NaN;
      const loop = Math.max(0, ...r.eventLoop.filter(([t]) => t >= from && t < to).map(([, s]) => s)) * 1000;
      lines.push(`| ${i + 1} | ${fmtInt(p.answered / (p.ms / 1000))} | ${fmtMs(p.p99)} | ${fmtMs(p.max)} | ${fmtMiB(rss)} | ${fmtMs(loop)} |`);
    });
  return lines.join('\n');
}
