/**
 * Drill 7, drain eu-west through the API while a European client keeps making connections (a stub
 * resolver that honours TTLs, through dns-a). The phases, each timed from the drain request: the
 * TTL is lowered on both nodes; eu-west is no longer handed out (no earlier than the old TTL after
 * the lowering, or resolvers would still hold it); the forwarder's connections reach 0; the drain
 * reports complete. The client must lose no connection on the way.
 * @module
 */
import { sleep, until } from '../client-ops.js';
import { DRAIN_TTL, WWW, WWW_TTL } from '../config.js';
import { DNS_NODES, PORTS, regionOf } from '../plan.js';
import type { System } from '../system.js';
import { row, secs, type Row } from '../table.js';
import type { Drill } from './types.js';
import { POLL_MS } from './watch.js';

const D = '7 drain';
const REGION = 'eu-west';
const PHASE_TIMEOUT_MS = 30_000;

const t = (ms: number | null): string => (ms === null ? 'never' : secs(ms));

export const drain: Drill = {
  n: 7,
  title: 'drain a region',
  timeoutMs: 90_000,
  async run(sys, log) {
    const r = regionOf(REGION);
    const client = sys.agent('cl-eu');
    const rows: Row[] = [];
    await client.loopStart('d7', { target: { resolver: DNS_NODES[0].address, name: WWW, port: PORTS.web }, path: '/?hold=300', concurrency: 4, timeoutMs: 5000 });
    try {
      await sleep(1000);
      const q = (d: (typeof DNS_NODES)[number]) => ({ server: d.address, name: WWW });
      const lowered = DNS_NODES.map((d) => client.poll(q(d), { kind: 'ttlAtMost', ttl: DRAIN_TTL }, POLL_MS, PHASE_TIMEOUT_MS));
      const shifted = DNS_NODES.map((d) => client.poll(q(d), { kind: 'without', address: r.forwarder }, POLL_MS, PHASE_TIMEOUT_MS));
      const t0 = Date.now();
      const started = await sys.api('dns-a', 'POST', `/v1/regions/${REGION}/drain`);
      if (started.status !== 202) throw new Error(`POST drain: ${started.status} ${JSON.stringify(started.body)}`);
      const low = (await Promise.all(lowered)).map((p) => (p.at === null ? null : p.at - t0));
      const shift = (await Promise.all(shifted)).map((p) => (p.at === null ? null : p.at - t0));
      const zero = await until(async () => (await forwarderActive(sys, r.forwarder)) === 0, PHASE_TIMEOUT_MS, t0);
      let last: unknown = null;
      const complete = await until(
        async () => {
          const g = await sys.api('dns-a', 'GET', `/v1/regions/${REGION}/drain`);
          last = g.body;
          return g.body?.phase === 'drained' && g.body?.forwarderConnections === 0;
        },
        PHASE_TIMEOUT_MS,
        t0,
      );
      await sleep(1000);
      const loop = await client.loopStop('d7');
      log(`drain status: ${JSON.stringify(last)}; loop: ${JSON.stringify({ ok: loop.ok, failed: loop.failed, errors: loop.errors, byAddress: loop.byAddress })}`);
      for (const f of loop.failures) log(`failed: ${f.address} ${f.error}, opened at +${secs(f.started - t0)}, failed at +${secs(f.at - t0)} (drain request at +0)`);

      const lowMax = Math.max(...low.map((x) => x ?? Infinity));
      const shiftMin = Math.min(...shift.map((x) => x ?? Infinity));
      const shiftMax = Math.max(...shift.map((x) => x ?? Infinity));
      rows.push(row(D, `TTL lowered to ${DRAIN_TTL} s on both nodes`, t(Number.isFinite(lowMax) ? lowMax : null), 'happens', Number.isFinite(lowMax)));
      const gap = shiftMin - lowMax;
      rows.push(
        row(
          D,
          `eu-west no longer handed out by both nodes (${Number.isFinite(gap) ? secs(gap) : '—'} after the TTL was lowered)`,
          t(Number.isFinite(shiftMax) ? shiftMax : null),
          `≥ old TTL (${WWW_TTL} s) after the lowering`,
          Number.isFinite(gap) && gap >= WWW_TTL * 1000,
        ),
      );
      rows.push(row(D, `eu-west forwarder's connections reach 0`, t(zero), 'happens', zero !== null));
      rows.push(row(D, 'drain reports complete (phase drained, 0 forwarder connections)', t(complete), 'happens', complete !== null));
      rows.push(row(D, `client connections failed during the drain (${loop.ok} served)`, String(loop.failed), '0', loop.failed === 0));
    } finally {
      await client.loopStop('d7').catch(() => null);
      await sys.api('dns-a', 'DELETE', `/v1/regions/${REGION}/drain`).catch(() => null);
    }
    return rows;
  },
};

/** Open client connections of the region's forwarder, from its own metrics. */
async function forwarderActive(sys: System, address: string): Promise<number | null> {
  try {
    return (await sys.metrics(address, PORTS.fwdMetrics)).sum('meridian_forward_connections_active');
  } catch {
    return null;
  }
}
