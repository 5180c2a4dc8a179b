/**
 * The /metrics page of a node with DNS workers: the primary's own registry (process, health, geo,
 * probe, forwarder, admin and worker-pool metrics) followed by the workers' DNS metrics summed over
 * the workers with prom-client's `AggregatorRegistry.aggregate` (each series by its labels, so
 * `meridian_dns_queries_total` is the node's total and `meridian_dns_worker_queries_total{worker}`
 * tells the workers apart).
 *
 * Counters stay monotonic when a worker restarts: the counters of a worker that exits are kept
 * (as of the last time it was read) and added to its successor's, so Prometheus never sees a
 * reset it would count as a whole new total. What a worker counted after its last read is lost
 * with it.
 * @module
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsPage } from '../../obs/metrics.js';
import type { MetricsJson } from './messages.js';

export class WorkerMetrics {
  /** The last page read from each running worker, by slot. */
  private readonly last = new Map<number, MetricsJson>();
  /** Counters of the workers that exited, summed. */
  private retired: MetricsJson = [];

  update(slot: number, metrics: MetricsJson): void {
    this.last.set(slot, metrics);
  }

  /** The worker in `slot` exited: its counters as last read carry on. */
  async retire(slot: number): Promise<void> {
    const gone = this.last.get(slot);
    this.last.delete(slot);
    if (!gone) return;
    // prom-client types `type` as a numeric enum; at run time it is the exposition name.
    const counters = gone.filter((m) => (m.type as unknown) === 'counter');
    this.retired = await AggregatorRegistry.aggregate([this.retired, counters]).getMetricsAsJSON();
  }

  /** The summed workers' page (prometheus text), from what each worker last reported. */
  text(): Promise<string> {
    return AggregatorRegistry.aggregate([this.retired, ...this.last.values()]).metrics();
  }

  /** The node's page: `primary` as is, then the workers' sums, each read fresh by `collect` first. */
  page(primary: Registry, collect: () => Promise<void>): MetricsPage {
    return {
      contentType: primary.contentType,
      metrics: async () => {
        await collect();
        const [own, workers] = await Promise.all([primary.metrics(), this.text()]);
        return own.endsWith('\n') || own === '' ? own + workers : `${own}\n${workers}`;
      },
    };
  }
}
