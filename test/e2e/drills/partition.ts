/**
 * Drill 6, one vantage partitioned: ap-southeast's probe host loses its paths to us-east and
 * eu-west but still reaches Redis, so it reports their endpoints down; the quorum of the three
 * vantages must keep every region up (no answer may change). Then its host loses its link
 * altogether: its heartbeat expires, and both DNS nodes must stop counting it within
 * heartbeatTtlMs + 1 s + resyncIntervalMs.
 * @module
 */
import { sleep, until } from '../client-ops.js';
import { HEARTBEAT_EXPIRY_BOUND_MS, HEALTH } from '../config.js';
import { DNS_NODES, REGIONS, probeHost, regionOf } from '../plan.js';
import type { System } from '../system.js';
import { row, secs, timedRow, type Row } from '../table.js';
import type { Drill } from './types.js';
import { startWatches, stopWatches } from './watch.js';
import type { Metrics } from '../metrics.js';

const D = '6 vantage partitioned';
const VANTAGE = 'ap-southeast';

/** Polls every DNS node's metrics until `pred` holds on all of them; ms taken, or null at timeout. */
function untilMetric(sys: System, pred: (m: Metrics) => boolean, timeoutMs: number): Promise<number | null> {
  return until(async () => (await Promise.all(DNS_NODES.map((d) => sys.metrics(d.address).catch(() => null)))).every((m) => m !== null && pred(m)), timeoutMs);
}

export const vantagePartition: Drill = {
  n: 6,
  title: 'vantage partitioned',
  timeoutMs: 60_000,
  async run(sys, log) {
    const v = regionOf(VANTAGE);
    const host = probeHost(v);
    const others = REGIONS.filter((r) => r.id !== VANTAGE);
    const rows: Row[] = [];
    await startWatches(sys, 'd6');
    try {
      sys.topo.partition(
        host,
        others.map((r) => r.network),
      );
      // The partition must show: the vantage sees only its own region's endpoints up.
      const own = 3;
      const seenIn = await untilMetric(sys, (m) => m.value('meridian_health_vantage_endpoints_up', { vantage: VANTAGE }) === own, 15_000);
      rows.push(
        row(D, `the partitioned vantage reports the other regions' endpoints down`, seenIn === null ? 'never in 15 s' : `after ${secs(seenIn)}`, 'it does (else nothing is tested)', seenIn !== null),
      );
      // Hold the partition for three more fall periods: no region may go down meanwhile.
      await sleep(3 * HEALTH.probe.intervalMs * 3);
      const falseDowns = await stopWatches(sys, 'd6');
      rows.push(row(D, `answers that lost their nearest region during the partition (${falseDowns.samples} sampled)`, String(falseDowns.wrong), '0', falseDowns.wrong === 0));
      if (falseDowns.wrong) log(`wrong answers: ${falseDowns.examples.join('; ')}`);

      // Now the whole host goes: its heartbeat must expire on every node.
      sys.topo.cut(host);
      const expiredIn = await untilMetric(sys, (m) => m.value('meridian_health_live_vantages') === REGIONS.length - 1, 20_000);
      rows.push(
        timedRow(
          D,
          'its heartbeat expiry seen by both DNS nodes after its link is cut (live vantages 3 → 2)',
          expiredIn === null ? 'never in 20 s' : secs(expiredIn),
          `≤ ${secs(HEARTBEAT_EXPIRY_BOUND_MS)} (TTL + skew + resync)`,
          expiredIn !== null && expiredIn <= HEARTBEAT_EXPIRY_BOUND_MS,
        ),
      );
    } finally {
      await stopWatches(sys, 'd6').catch(() => null);
      sys.topo.heal();
      sys.topo.restore(host);
    }
    return rows;
  },
};
