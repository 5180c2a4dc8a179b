/**
 * One DNS worker of `meridian serve --workers N`: the answering part of a node (src/node/dns-core.ts)
 * and nothing else. Its config is what the primary has in force (the YAML bytes the primary judged,
 * and the store version), through the same ConfigSources and apply() as a node in one process; its
 * health is a copy of the primary's answers per region (src/health/mirror.ts). It opens no store,
 * Redis, probes, forwarders, admin API or metrics listener, so nothing upstream can stall it: it
 * answers from the last config and health it was given.
 * @module
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { ConfigError, type LoadResult } from '../../config/load.js';
import { MirroredHealth } from '../../health/mirror.js';
import { build } from '../../lifecycle/stack.js';
import type { Logger } from '../../obs/log.js';
import { createMetrics } from '../../obs/metrics.js';
import { loadConfigFile } from '../config.js';
import { openDnsCore, openDnsListeners, type DnsCore, type HealthFeed } from '../dns-core.js';
import { ConfigSources } from '../sources.js';
import type { ConfigFiles, MetricsJson, ToWorker, WorkerInit } from './messages.js';

export interface DnsWorker {
  /** A message from the primary after `init`. */
  handle(message: Exclude<ToWorker, { t: 'init' | 'metrics' | 'stop' }>): void;
  metrics(): Promise<MetricsJson>;
  /** Recent service clients, newest first (for the primary's admin API). */
  recentClients(): string[];
  close(): Promise<void>;
}

/** A reader over the files the primary sent: a worker never reads the config from disk. */
function replay(files: () => ConfigFiles): (path: string) => string {
  return (path) => {
    const text = files()[path];
    if (text === undefined) throw Object.assign(new Error(`${path} was not read by the primary`), { code: 'ENOENT' });
    return text;
  };
}

export async function startDnsWorker(init: WorkerInit, log: Logger): Promise<DnsWorker> {
  let files = init.config.files;
  const load = (file: string): LoadResult =>
    loadConfigFile(
      file,
      replay(() => files),
    );
  const loaded = load(init.config.file);
  if (!loaded.ok) throw new ConfigError(loaded.errors.map((e) => `${e.file}:${e.line}: ${e.reason}`));
  // The ports the primary resolved and claimed (port 0 becomes one port for every worker).
  const yaml = { ...loaded.config, listen: init.listen };
  const mirror = new MirroredHealth();
  mirror.apply(init.health);
  const feed: HealthFeed = { current: () => mirror, onSwap: (l) => void mirror.onSwap(l), update: () => undefined };
  return build(async (stack) => {
    const core = openDnsCore(yaml, log, stack, feed, null);
    const sources = new ConfigSources(yaml, core, log, undefined, load);
    const problems = init.config.record ? sources.applyVersion(init.config.record) : sources.applyYaml();
    if (problems.length) throw new ConfigError(problems);
    const { tcp } = await openDnsListeners(core, yaml, stack, log, { sharing: init.sharing, workers: init.workers });
    const registry = workerMetrics(core, () => tcp.reduce((n, l) => n + l.connectionCount, 0), init.slot);
    const rejected = (what: string, p: string[]): void => {
      // The primary judged the same inputs and took them: this is a fault, logged with its code.
      if (p.length) log.error({ code: 'MERIDIAN_ERR_INVALID_CONFIG', problems: p }, `worker: ${what} rejected; this worker keeps its running config`);
    };
    return {
      handle(m) {
        if (m.t === 'health') return mirror.apply(m.update);
        if (m.files) {
          files = m.files;
          rejected('reload', sources.reload());
        }
        if (m.record) rejected(`config version ${m.record.version}`, sources.applyVersion(m.record));
        if (m.reloadGeo) core.geo?.reload();
      },
      metrics: () => registry.getMetricsAsJSON(),
      recentClients: () => core.sampler.recent(),
      close: () => stack.close(),
    };
  });
}

/**
 * The DNS counters of this worker (the primary sums them over the workers, src/node/workers/metrics.ts),
 * and what tells the workers apart: queries, CPU and memory per worker slot.
 */
function workerMetrics(core: DnsCore, tcpOpen: () => number, slot: number): Registry {
  const registry = createMetrics({ dns: () => core.responder.stats, tcpOpen }, { processMetrics: false });
  const worker = String(slot);
  new Counter({
    name: 'meridian_dns_worker_queries_total',
    help: 'DNS messages received by each DNS worker process (serve --workers), by worker slot.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ worker }, core.responder.stats.queries);
    },
  });
  new Counter({
    name: 'meridian_node_worker_cpu_seconds_total',
    help: 'CPU time (user + system) of each DNS worker process, by worker slot.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      const { user, system } = process.cpuUsage();
      this.inc({ worker }, (user + system) / 1e6);
    },
  });
  new Gauge({
    name: 'meridian_node_worker_resident_memory_bytes',
    help: 'Resident memory of each DNS worker process, by worker slot.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.set({ worker }, process.memoryUsage.rss());
    },
  });
  return registry;
}
