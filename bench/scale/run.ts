/**
 * One scale run, shared by `bench:scale`, `bench:soak` and the CI soak test: a generated
 * deployment on a real `meridian serve` (Redis config store and health bus) with a real
 * `meridian probe` sidecar; first the node's maximum rate (closed loop, nothing else running), then
 * `seconds` of open-loop DNS load at `fraction` of it (or a fixed `qps`) while check targets flip
 * under the probe, the admin API takes registrations and status reads, and the node's RSS and its
 * own event-loop delay metric are sampled. Everything it starts is stopped whatever happens.
 * @module
 */
import os from 'node:os';
import { startApiLoad, type ApiLoadResult } from './api-load.js';
import { deployment, policyKind, serviceName, serviceRegions, type DeploymentShape } from './deployment.js';
import { startScaleNode, treeRss, type Build, type ScaleNode } from './harness.js';
import { DnsLoad, measureMax, phaseOf, queryPool, type PhaseResult, type SeriesPoint } from './load.js';
import { observeFlips } from './observe.js';
import { summarize, type LatencySummary } from './stats.js';
import { CheckTargets, startFlipper } from './targets.js';
import { versionSizes, type VersionSizes } from './versions.js';

export interface RunOptions {
  shape: DeploymentShape;
  /** Which Meridian runs (harness.ts): the benchmarks run `dist`, the CI test `src`. */
  build: Build;
  /** Flippable endpoints per region (the probe checks them every `checkIntervalMs`). */
  flippablePerRegion: number;
  checkIntervalMs: number;
  flipsPerSecond: number;
  seconds: number;
  /** Length of the closed-loop maximum measurement (0: skip it; `qps` must be given). */
  maxSeconds: number;
  /** Load as a fraction of the measured maximum... */
  fraction: number;
  /** ...or this fixed rate. */
  qps?: number;
  registerEveryMs: number;
  statusEveryMs: number;
  deregister: boolean;
  /** /metrics scrape period (event-loop delay max since the previous scrape). */
  scrapeEveryMs: number;
  rssEveryMs: number;
  /** Length of each point of the load's time series. */
  seriesMs: number;
  poolSize: number;
  clientCount: number;
  /** A query unanswered after this long counts as lost (default 2 s: a resolver has retried by then). */
  lossTimeoutMs?: number;
  /** A front-endpoint flip not in the answers after this long counts as not reflected (default 5 s). */
  giveUpMs?: number;
  cpuProf?: string;
  log: (line: string) => void;
}

export interface RunResult {
  machine: string;
  startupMs: number;
  maxQps: number | null;
  rate: number;
  load: PhaseResult;
  series: SeriesPoint[];
  flips: { toggles: number; short: number; published: number; changes: number; toAnswer: LatencySummary; unreflected: number };
  /** [ms since the loaded phase began, bytes]. */
  rss: [number, number][];
  /** [ms since the loaded phase began, seconds]: the node's event-loop delay max since the previous scrape. */
  eventLoop: [number, number][];
  api: ApiLoadResult;
  versions: VersionSizes;
  counters: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const EVENT_LOOP_MAX = 'meridian_nodejs_eventloop_lag_max_seconds';

export function machine(): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${load}`;
}

/** The geo service listing region `i` first for EU clients, else its failover service. */
function pollServiceFor(shape: DeploymentShape): (region: number) => string | undefined {
  const byRegion = new Map<number, string>();
  for (let k = 0; k < shape.services; k++) {
    const first = serviceRegions(shape, k)[0]!;
    const kind = policyKind(shape, k);
    if (kind === 'geo' || (kind === 'failover' && !byRegion.has(first))) byRegion.set(first, serviceName(k, shape.zone));
  }
  return (i) => byRegion.get(i);
}

async function sampleWhile(node: ScaleNode, opts: RunOptions, t0: number, running: () => boolean): Promise<{ rss: [number, number][]; eventLoop: [number, number][] }> {
  const rss: [number, number][] = [];
  const eventLoop: [number, number][] = [];
  let nextScrape = performance.now() + opts.scrapeEveryMs;
  // The first scrape only resets the node's histogram, so each sample covers one whole period.
  await node.metric(EVENT_LOOP_MAX).catch(() => null);
  while (running()) {
    await sleep(Math.min(opts.rssEveryMs, Math.max(0, nextScrape - performance.now())));
    const t = Math.round(performance.now() - t0);
    rss.push([t, treeRss(node.serve.child.pid!)]);
    if (performance.now() >= nextScrape) {
      nextScrape += opts.scrapeEveryMs;
      const v = await node.metric(EVENT_LOOP_MAX).catch(() => null);
      if (v !== null) eventLoop.push([t, v]);
    }
  }
  return { rss, eventLoop };
}

async function counters(node: ScaleNode): Promise<Record<string, number>> {
  const text = await node.metrics();
  const re = /^(meridian_(?:health_endpoint_evaluations|health_region_evaluations|health_full_recomputes|dns_decision_flushes|dns_decisions_computed|dns_internal_errors)_total) (\S+)$/gm;
  return Object.fromEntries([...text.matchAll(re)].map((m) => [m[1]!, Number(m[2])]));
}

export async function scaleRun(opts: RunOptions): Promise<RunResult> {
  const { shape, log } = opts;
  const targets = await CheckTargets.open(shape.regions, opts.flippablePerRegion);
  let node: ScaleNode | null = null;
  try {
    const d = deployment({ ...shape, port: targets.acceptPort }, targets.checks(opts.checkIntervalMs));
    const t0 = Date.now();
    node = await startScaleNode(d, { probe: true, build: opts.build, ...(opts.cpuProf ? { cpuProf: opts.cpuProf } : {}) });
    const startupMs = Date.now() - t0;
    log(`node and probe ready in ${startupMs} ms`);
    // Every flippable endpoint checked once, so the first flips are flips.
    await sleep(opts.checkIntervalMs * 2);
    const init = { port: node.dnsPort, pool: queryPool(shape, opts.poolSize, opts.clientCount, shape.zone), timeoutMs: opts.lossTimeoutMs ?? 2_000, intervalMs: opts.seriesMs };
    let maxQps: number | null = null;
    if (opts.maxSeconds > 0) {
      maxQps = (await measureMax(init, opts.maxSeconds)).qps;
      log(`max: ${Math.round(maxQps)} qps`);
    }
    const rate = opts.qps ?? Math.round((maxQps ?? 0) * opts.fraction);
    if (!(rate > 0)) throw new Error('no rate: give qps or a max measurement');
    const observer = await observeFlips({
      redisUrl: node.redis.url,
      dnsPort: node.dnsPort,
      watched: new Set(targets.keys),
      serviceFor: pollServiceFor(shape),
      ...(opts.giveUpMs ? { giveUpMs: opts.giveUpMs } : {}),
    });
    const load = await DnsLoad.start(init);
    try {
      load.phase('warm-up');
      load.open(rate);
      await sleep(2_000);
      load.phase('run');
      observer.measuring = true;
      const flipper = startFlipper(targets, opts.flipsPerSecond, opts.checkIntervalMs * 2.5);
      const api = startApiLoad(node, { regions: shape.regions, acceptPort: targets.acceptPort, statusEveryMs: opts.statusEveryMs, registerEveryMs: opts.registerEveryMs, deregister: opts.deregister });
      const started = performance.now();
      const end = started + opts.seconds * 1000;
      log(`run: ${rate} qps for ${opts.seconds} s, ${opts.flipsPerSecond} flips/s`);
      const samples = sampleWhile(node, opts, started, () => performance.now() < end);
      const { rss, eventLoop } = await samples;
      flipper.stop();
      observer.measuring = false;
      load.phase('end');
      const apiResult = await api.stop();
      const result = await load.stop();
      log('run done; reading the store and the counters');
      const flips = {
        toggles: flipper.toggles,
        short: flipper.short,
        published: observer.flips,
        changes: observer.changes,
        toAnswer: summarize(observer.latencies),
        unreflected: observer.unreflected,
      };
      const versions = await versionSizes(node, apiResult.versions, targets.acceptPort);
      return { machine: machine(), startupMs, maxQps, rate, load: phaseOf(result, 'run')!, series: result.series, flips, rss, eventLoop, api: apiResult, versions, counters: await counters(node) };
    } finally {
      await load.kill().catch(() => undefined);
      await observer.close();
    }
  } finally {
    const t = Date.now();
    await node?.stop();
    await targets.close();
    log(`stopped in ${Date.now() - t} ms`);
  }
}
