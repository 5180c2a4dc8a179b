/**
 * Drill 3, forwarder host down: us-east's forwarder host loses its link. The probes check the
 * forwarder (an endpoint at the region's address); measured: the time until both DNS nodes stop
 * handing out its address (goal ≤ 3 s, as for drill 2), and that the nodes' health shows it down.
 * @module
 */
import { DNS_NODES, forwarderHost, regionOf } from '../plan.js';
import { row, secs, timedRow, type Row } from '../table.js';
import type { Drill } from './types.js';
import { stopHandingOut } from './watch.js';

const D = '3 forwarder host down';

export const forwarderDown: Drill = {
  n: 3,
  title: 'forwarder host down',
  timeoutMs: 60_000,
  async run(sys) {
    const r = regionOf('us-east');
    const host = forwarderHost(r);
    const rows: Row[] = [];
    try {
      const { times } = await stopHandingOut(sys.agent('cl-na'), r.forwarder, async () => sys.topo.cut(host));
      const worst = Math.max(...times.map((t) => t ?? Infinity));
      const each = DNS_NODES.map((d, i) => `${d.host} ${times[i] === null ? 'never' : secs(times[i]!)}`).join(', ');
      rows.push(timedRow(D, `time until both DNS nodes stop handing out us-east's forwarder (${each})`, Number.isFinite(worst) ? secs(worst) : 'never in 15 s', '≤ 3 s', worst <= 3000));
      const seen: string[] = [];
      for (const d of DNS_NODES) {
        const m = await sys.metrics(d.address);
        if (m.value('meridian_health_endpoint_up', { region: r.id, endpoint: 'forwarder' }) === 0) seen.push(d.host);
      }
      rows.push(row(D, 'DNS nodes whose health shows the forwarder down', `${seen.length}/${DNS_NODES.length}`, `${DNS_NODES.length}/${DNS_NODES.length}`, seen.length === DNS_NODES.length));
    } finally {
      sys.topo.restore(host);
    }
    return rows;
  },
};
