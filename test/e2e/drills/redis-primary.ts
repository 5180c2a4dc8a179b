/**
 * Drill 4, the Redis primary killed (SIGKILL) while an operator keeps writing through the admin API
 * and clients on three continents keep asking both DNS nodes. Measured: DNS answers unchanged
 * throughout (0 changed or missing); writes resume after Sentinel's failover, and the write outage
 * (last acknowledged write before the kill → first after); no acknowledged write lost (each one's
 * version is read back with its content).
 * @module
 */
import { sleep } from '../client-ops.js';
import { CFG } from '../config.js';
import type { System } from '../system.js';
import { row, secs, type Row } from '../table.js';
import { cfgService } from './cfg.js';
import type { Drill } from './types.js';
import { startWatches, stopWatches } from './watch.js';

const D = '4 Redis primary killed';
/** Acknowledged writes after the kill before the drill stops writing. */
const AFTER_KILL = 10;
const WRITE_WINDOW_MS = 40_000;

interface Write {
  ttl: number;
  started: number;
  ended: number;
  status: number;
  version: number | null;
  code?: string;
}

async function write(sys: System, service: Record<string, unknown>, ttl: number): Promise<Write> {
  const started = Date.now();
  try {
    const r = await sys.api('dns-a', 'PUT', `/v1/services/${CFG}?reason=e2e-drill-4`, { ...service, ttl });
    return { ttl, started, ended: Date.now(), status: r.status, version: r.status === 200 ? Number(r.body.version) : null, code: r.body?.error?.code };
  } catch (err) {
    return { ttl, started, ended: Date.now(), status: 0, version: null, code: (err as Error).name };
  }
}

/** Acknowledged writes whose version is missing from the store or holds another TTL. */
async function lostWrites(sys: System, acked: Write[]): Promise<string[]> {
  const lost: string[] = [];
  for (const w of acked) {
    const v = await sys.api('dns-a', 'GET', `/v1/versions/${w.version}`);
    const services = (v.body?.document?.services ?? []) as { name: string; ttl: number }[];
    const ttl = services.find((s) => s.name === CFG || s.name === `${CFG}.`)?.ttl;
    if (v.status !== 200 || ttl !== w.ttl) lost.push(`v${w.version} (ttl ${w.ttl}): ${v.status} ${ttl ?? ''}`);
  }
  return lost;
}

export const redisPrimary: Drill = {
  n: 4,
  title: 'Redis primary killed',
  timeoutMs: 120_000,
  async run(sys, log) {
    const rows: Row[] = [];
    const primary = await sys.redis.primary();
    const host = sys.redis.hostOf(primary);
    const service = await cfgService(sys);
    await startWatches(sys, 'd4');
    const writes: Write[] = [];
    try {
      let ttl = 1000;
      for (let i = 0; i < 5; i++) writes.push(await write(sys, service, ttl++));
      const killed = Date.now();
      await sys.redis.data.get(host)!.kill();
      const end = killed + WRITE_WINDOW_MS;
      while (Date.now() < end && writes.filter((w) => w.started > killed && w.status === 200).length < AFTER_KILL) {
        writes.push(await write(sys, service, ttl++));
        await sleep(50);
      }
      const wrong = await stopWatches(sys, 'd4');
      const acked = writes.filter((w) => w.status === 200);
      const before = acked.filter((w) => w.ended < killed).at(-1);
      const after = acked.find((w) => w.started > killed);
      const refused = writes.filter((w) => w.status !== 200);
      const codes = [...new Set(refused.map((w) => `${w.status} ${w.code ?? ''}`.trim()))].join(', ');
      log(`primary was ${host}; now ${await sys.redis.primary().catch((e: Error) => e.message)}; refused meanwhile: ${refused.length} (${codes})`);
      if (wrong.wrong) log(`changed answers: ${wrong.examples.join('; ')}`);
      rows.push(row(D, `DNS answers changed or missing while the primary died and was replaced (${wrong.samples} sampled)`, String(wrong.wrong), '0', wrong.wrong === 0));
      rows.push(
        row(
          D,
          `API writes resume after Sentinel's failover; write outage (last ack before the kill → first after; ${refused.length} refused meanwhile: ${codes || 'none'})`,
          after && before ? secs(after.ended - before.ended) : `no write acknowledged in ${WRITE_WINDOW_MS / 1000} s`,
          'resume',
          !!after,
        ),
      );
      const lost = await lostWrites(sys, acked);
      if (lost.length) log(`lost: ${lost.join('; ')}`);
      rows.push(row(D, `acknowledged writes lost (of ${acked.length}, each read back)`, String(lost.length), '0', lost.length === 0 && acked.length > 0));
    } finally {
      await stopWatches(sys, 'd4').catch(() => null);
      await sys.redis.repair();
    }
    return rows;
  },
};
