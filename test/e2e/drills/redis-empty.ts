/**
 * Drill 5, Redis restarted empty: both data nodes killed and started again on empty disks (as
 * without persistence). Before, through the API: a store token made, an override set (AS clients
 * then get eu-west), cfg's TTL changed. Measured: the store is re-seeded by the nodes; the token
 * still works on both nodes, the override is still listed and no answer changed meanwhile, cfg's
 * TTL survives in the store and the answers, and the next version continues the numbering.
 * @module
 */
import { poll, until } from '../client-ops.js';
import { CFG } from '../config.js';
import { CLIENTS, DNS_NODES, REDIS_HOSTS, regionOf } from '../plan.js';
import { row, secs, type Row } from '../table.js';
import type { Drill } from './types.js';
import { cfgService, setCfgTtl } from './cfg.js';
import { startWatches, stopWatches } from './watch.js';

const D = '5 Redis restarted empty';
const SCOPE = 'region/ap-southeast';
/** While the override holds, AS clients get their second choice. */
const expectWithOverride = (c: (typeof CLIENTS)[number]): string => regionOf(c.nearest === 'ap-southeast' ? 'eu-west' : c.nearest).forwarder;

export const redisEmpty: Drill = {
  n: 5,
  title: 'Redis restarted empty',
  timeoutMs: 120_000,
  async run(sys, log) {
    const rows: Row[] = [];
    const token = await sys.api('dns-a', 'POST', '/v1/tokens', { name: `drill5-${process.pid}`, role: 'viewer' });
    if (token.status !== 201) throw new Error(`POST /v1/tokens: ${token.status} ${JSON.stringify(token.body)}`);
    const secret = String(token.body.secret);
    const set = await sys.api('dns-a', 'PUT', `/v1/overrides/${SCOPE}`, { state: 'down', reason: 'e2e drill 5', for: '30m' });
    if (set.status !== 200) throw new Error(`PUT override: ${set.status} ${JSON.stringify(set.body)}`);
    try {
      const as = CLIENTS.find((c) => c.nearest === 'ap-southeast')!;
      for (const d of DNS_NODES) {
        const moved = await sys.agent(as.host).poll({ server: d.address, name: 'www.gslb.example.com' }, { kind: 'with', address: regionOf('eu-west').forwarder }, 50, 10_000);
        if (moved.at === null) throw new Error(`${d.host} never applied the override`);
      }
      const ttl = 55;
      if (!(await setCfgTtl(sys, ttl, DNS_NODES[1].address))) throw new Error('cfg TTL change not seen on dns-b');
      const head = Number((await sys.api('dns-a', 'GET', '/v1/status')).body.head);
      await startWatches(sys, 'd5');

      const primary = await sys.redis.primary();
      const [p, r] = [REDIS_HOSTS.find((h) => h.address === primary)!, REDIS_HOSTS.find((h) => h.address !== primary && sys.redis.data.has(h.host))!];
      await Promise.all([p, r].map((h) => sys.redis.data.get(h.host)!.kill()));
      const t0 = Date.now();
      await sys.redis.startData(p.host, null, { empty: true });
      await sys.redis.startData(r.host, p.address, { empty: true });
      // Re-seeded: the store answers with a head again, at least the one before.
      const reseeded = await until(
        async () => {
          const s = await sys.api('dns-a', 'GET', '/v1/status').catch(() => null);
          return s?.status === 200 && Number(s.body.head) >= head;
        },
        20_000,
        t0,
      );
      rows.push(row(D, `store re-seeded by the nodes (head back to ≥ v${head})`, reseeded === null ? 'not in 20 s' : `after ${secs(reseeded)}`, 'yes', reseeded !== null));

      const tokenOk = await Promise.all(DNS_NODES.map(async (d) => (await sys.api(d.host, 'GET', '/v1/status', undefined, secret)).status === 200));
      rows.push(row(D, 'a token made through the API still works (nodes)', `${tokenOk.filter(Boolean).length}/${DNS_NODES.length}`, `${DNS_NODES.length}/${DNS_NODES.length}`, tokenOk.every(Boolean)));

      const listed = await sys.api('dns-a', 'GET', '/v1/overrides');
      const kept = JSON.stringify(listed.body).includes(SCOPE);
      const wrong = await stopWatches(sys, 'd5', expectWithOverride);
      if (wrong.wrong) log(`changed answers: ${wrong.examples.join('; ')}`);
      rows.push(
        row(
          D,
          `the override is still listed, and answers changed meanwhile (${wrong.samples} sampled)`,
          `${kept ? 'listed' : 'gone'}, ${wrong.wrong} changed`,
          'listed, 0 changed',
          kept && wrong.wrong === 0,
        ),
      );

      const stored = await cfgService(sys).catch(() => null);
      const answered = await Promise.all(DNS_NODES.map((d) => poll({ server: d.address, name: CFG }, { kind: 'any' }, 20, 2000)));
      const ttls = answered.map((a) => a.last?.ttl ?? null);
      const storedTtl = stored?.ttl;
      rows.push(
        row(
          D,
          `config changed through the API survives (${CFG} TTL in the store / in both nodes' answers)`,
          `${storedTtl ?? 'unreadable'} / ${ttls.join(', ')}`,
          `${ttl} / ${ttl}, ${ttl}`,
          storedTtl === ttl && ttls.every((t) => t === ttl),
        ),
      );

      const next = await sys.api('dns-a', 'PUT', `/v1/services/${CFG}?reason=e2e-drill-5`, { ...(stored ?? (await cfgService(sys))), ttl: ttl + 1 });
      const version = next.status === 200 ? Number(next.body.version) : null;
      rows.push(row(D, `the next write's version (v${head} before the restart)`, version === null ? `refused: ${next.status}` : `v${version}`, `v${head + 1}`, version === head + 1));
    } finally {
      await stopWatches(sys, 'd5').catch(() => null);
      await sys.api('dns-a', 'DELETE', `/v1/overrides/${SCOPE}?reason=e2e`).catch(() => null);
      await sys.redis.repair();
    }
    return rows;
  },
};
