/**
 * Drill 2, region failure: both backends of us-east are killed. Measured: the time until both DNS
 * nodes stop handing out us-east (goal ≤ 3 s with the 1 s probe interval), and the connections a
 * client loses while it keeps connecting to us-east's forwarder, as a client holding the old answer
 * does (goal 0: the forwarder relays them to the next region).
 * @module
 */
import { sleep } from '../client-ops.js';
import { DNS_NODES, PORTS, backendHost, regionOf } from '../plan.js';
import { row, secs, timedRow, type Row } from '../table.js';
import type { Drill } from './types.js';
import { stopHandingOut } from './watch.js';

const D = '2 region failure';
/** Relayed connections the client must have made, so that "0 lost" means something. */
const RELAYED_MIN = 20;

/** Connections served by backends of other regions than `short`'s. */
function relayedOf(servedBy: Record<string, number>, short: string): number {
  return Object.entries(servedBy)
    .filter(([who]) => !who.startsWith(short))
    .reduce((n, [, c]) => n + c, 0);
}

export const regionFailure: Drill = {
  n: 2,
  title: 'region failure',
  timeoutMs: 60_000,
  async run(sys, log) {
    const r = regionOf('us-east');
    const client = sys.agent('cl-na');
    const backends = r.backends.map((_, i) => backendHost(r, i));
    const rows: Row[] = [];
    await client.loopStart('d2', { target: { host: r.forwarder, port: PORTS.web }, path: '/', concurrency: 2, timeoutMs: 5000 });
    try {
      await sleep(500);
      let dead = 0;
      const { times } = await stopHandingOut(client, r.forwarder, async () => {
        await Promise.all(backends.map((h) => sys.running.get(h)!.kill()));
        dead = Date.now();
      });
      // Connections keep coming after DNS moved, as from clients with cached answers: at least
      // RELAYED_MIN of them relayed, and for at least 1.5 s.
      const until = Date.now() + 20_000;
      await sleep(1500);
      while (Date.now() < until && relayedOf((await client.loopPeek('d2'))?.servedBy ?? {}, r.short) < RELAYED_MIN) await sleep(200);
      const loop = await client.loopStop('d2');
      log(`loop: ${JSON.stringify({ ok: loop.ok, failed: loop.failed, errors: loop.errors, servedBy: loop.servedBy })}`);
      const worst = Math.max(...times.map((t) => t ?? Infinity));
      rows.push(
        timedRow(
          D,
          `time until both DNS nodes stop handing out us-east (${DNS_NODES.map((d, i) => `${d.host} ${times[i] === null ? 'never' : secs(times[i]!)}`).join(', ')})`,
          Number.isFinite(worst) ? secs(worst) : 'never',
          '≤ 3 s',
          worst <= 3000,
        ),
      );
      // A connection a backend had already accepted dies with it: no L4 forwarder can save it. Every
      // connection opened once the backends are gone must be relayed.
      const cut = loop.failures.filter((f) => f.started < dead).length;
      const lost = loop.failed - cut;
      const relayed = relayedOf(loop.servedBy, r.short);
      rows.push(
        row(
          D,
          `connections lost, opened through us-east's forwarder after its backends died (${loop.ok} served, ${relayed} relayed)`,
          String(lost),
          `0, of ≥ ${RELAYED_MIN} relayed`,
          lost === 0 && relayed >= RELAYED_MIN,
        ),
      );
      rows.push(row(D, 'connections cut: in flight on a backend when it was killed', String(cut), '—', null));
    } finally {
      await client.loopStop('d2').catch(() => null);
      await Promise.all(backends.filter((h) => !sys.running.get(h)?.running).map((h) => sys.startBackend(h)));
    }
    return rows;
  },
};
