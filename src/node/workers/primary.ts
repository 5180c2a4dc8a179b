/**
 * The primary of `meridian serve --workers N` (N > 1): decides how the workers share the DNS ports,
 * claims the ports, starts the pool with what is in force, and wires the changes to it (health by
 * region as the primary's health source swaps, config after the primary applied it). src/serve.ts
 * calls it where a node in one process would open its DNS listeners.
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { ConfigError, type LoadedConfig } from '../../config/load.js';
import { answerUpdate } from '../../health/mirror.js';
import type { HealthPlane } from '../../health/plane.js';
import type { ResourceStack } from '../../lifecycle/stack.js';
import type { Logger } from '../../obs/log.js';
import type { MetricsPage } from '../../obs/metrics.js';
import type { VersionRecord } from '../../store/types.js';
import type { ConfigSources } from '../sources.js';
import type { RecordedInputs } from './inputs.js';
import { claimListen } from './claim.js';
import { portSharing } from './plan.js';
import { WorkerPool } from './pool.js';

export interface DnsWorkers {
  /** Where the workers answer (ports resolved). */
  readonly addresses: { host: string; boundPort: number }[];
  readonly pool: WorkerPool;
  /** After the primary applied a new version, or a reload (which also rereads the geo database). */
  configChanged(reloadGeo: boolean): void;
  recentClients(max: number): string[];
  /** `meridian_node_workers` and `meridian_node_worker_restarts_total` into the primary's registry. */
  register(registry: Registry): void;
  /** /metrics: the primary's registry and the workers' DNS metrics, summed. */
  page(primary: Registry): MetricsPage;
}

export interface WorkersOptions {
  count: number;
  yaml: LoadedConfig;
  plane: HealthPlane;
  sources: ConfigSources;
  inputs: RecordedInputs;
  log: Logger;
  stack: ResourceStack;
}

/** A version as the workers get it: the document they compile, without the diff they never read. */
const slim = (record: VersionRecord | null): VersionRecord | null => (record ? { ...record, diff: [] } : null);

export async function openWorkers({ count, yaml, plane, sources, inputs, log, stack }: WorkersOptions): Promise<DnsWorkers> {
  const sharing = portSharing(process.env.MERIDIAN_WORKER_SHARING);
  if (sharing !== 'reuseport' && sharing !== 'cluster') throw new ConfigError([sharing]);
  const listen = await claimListen(yaml.listen);
  if (typeof listen === 'string') throw new ConfigError([`${yaml.file}: ${listen}`]);
  const source = plane.source;
  const pool = new WorkerPool({
    count,
    sharing,
    listen,
    log: log.child({ component: 'workers' }),
    current: () => ({
      config: { file: sources.settings.file, files: inputs.filesOf(sources.settings), record: slim(sources.version) },
      health: answerUpdate(
        source.current.version,
        (id) => source.answerOf(id),
        [...source.current.regions()].map(([id]) => id),
        true,
      ),
    }),
  });
  // Registered before the first fork: a change during the start reaches every worker after its init.
  const off = source.onSwap((health, change) => {
    if (change.regions.size) pool.healthChanged(answerUpdate(health.version, (id) => source.answerOf(id), change.regions, false));
  });
  await stack.open(
    'DNS workers',
    async () => {
      log.info({ workers: count, sharing }, 'starting DNS workers');
      await pool.start().catch((err: Error) => {
        throw new ConfigError([`${yaml.file}: DNS workers: ${err.message}`]);
      });
      return pool;
    },
    async (p) => {
      off();
      await p.stop();
    },
  );
  return {
    addresses: listen.map((a) => ({ host: a.host, boundPort: a.port })),
    pool,
    configChanged: (reloadGeo) => pool.configChanged(reloadGeo),
    recentClients: (max) => pool.recentClients(max),
    register(registry) {
      new Gauge({
        name: 'meridian_node_workers',
        help: 'DNS worker processes answering now (serve --workers).',
        registers: [registry],
        collect() {
          this.set(pool.running);
        },
      });
      new Counter({
        name: 'meridian_node_worker_restarts_total',
        help: 'DNS worker processes restarted after an exit nobody asked for (a crash, kill -9).',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(pool.restarts);
        },
      });
    },
    page: (primary) => pool.metrics.page(primary, () => pool.collectMetrics()),
  };
}
