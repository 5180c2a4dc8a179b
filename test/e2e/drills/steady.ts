/**
 * Drill 1, steady state: each continent's client gets its nearest region from both DNS nodes; the
 * weighted service's shares over 5,000 ECS subnets are within ±2 points of the weights; explain on
 * both nodes agrees with what the clients were answered.
 * @module
 */
import { decode, ecsQueries, udpPipeline } from '../../helpers/client.js';
import { SHARES, WWW } from '../config.js';
import { CLIENTS, DNS_NODES, REGIONS, regionOf } from '../plan.js';
import { row, type Row } from '../table.js';
import type { Drill } from './types.js';

const D = '1 steady state';
const SUBNETS = 5000;

/** 5,000 distinct /24s, the same every run (mulberry32), from all of unicast IPv4. */
export function subnets(n: number, seed = 15): string[] {
  let a = seed;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const seen = new Set<string>();
  while (seen.size < n) {
    const x = Math.floor(rand() * 2 ** 24);
    const first = x >>> 16;
    if (first < 1 || first > 223 || first === 127 || first === 10) continue;
    seen.add(`${first}.${(x >>> 8) & 255}.${x & 255}.0/24`);
  }
  return [...seen];
}

export const steadyState: Drill = {
  n: 1,
  title: 'steady state',
  timeoutMs: 60_000,
  async run(sys, log) {
    const rows: Row[] = [];
    // Nearest region, and explain, per client and node.
    let nearest = 0;
    let agree = 0;
    const misses: string[] = [];
    for (const c of CLIENTS) {
      for (const d of DNS_NODES) {
        const a = await sys.agent(c.host).query({ server: d.address, name: WWW });
        const want = regionOf(c.nearest).forwarder;
        if (a?.addresses.length === 1 && a.addresses[0] === want) nearest++;
        else misses.push(`${c.host}@${d.host}: ${a?.addresses.join(',') ?? 'no answer'}`);
        const ex = await sys.api(d.host, 'GET', `/v1/explain?name=${WWW}&ip=${c.address}`);
        const said = ex.status === 200 ? [...(ex.body.addresses as string[])].sort() : [];
        if (a && said.join(',') === a.addresses.join(',')) agree++;
        else misses.push(`explain ${c.host}@${d.host}: ${ex.status} ${said.join(',')}`);
      }
    }
    const total = CLIENTS.length * DNS_NODES.length;
    rows.push(row(D, 'clients answered with their nearest region (3 continents × 2 nodes)', `${nearest}/${total}`, `${total}/${total}`, nearest === total));
    rows.push(row(D, 'explain agrees with the answer (3 clients × 2 nodes)', `${agree}/${total}`, `${total}/${total}`, agree === total));

    // Weighted shares over 5,000 ECS subnets, on each node.
    const weightSum = REGIONS.reduce((s, r) => s + r.weight, 0);
    const nets = subnets(SUBNETS);
    for (const d of DNS_NODES) {
      const replies = await udpPipeline(53, ecsQueries(SHARES, 'A', nets), { host: d.address, timeoutMs: 1000 });
      const counts = new Map<string, number>();
      for (const raw of replies) {
        const addr = String(decode(raw).answers[0]?.data ?? 'none');
        counts.set(addr, (counts.get(addr) ?? 0) + 1);
      }
      let worst = 0;
      const parts: string[] = [];
      for (const r of REGIONS) {
        const share = (counts.get(r.forwarder) ?? 0) / SUBNETS;
        const want = r.weight / weightSum;
        worst = Math.max(worst, Math.abs(share - want));
        parts.push(`${r.id} ${(share * 100).toFixed(1)}%/${(want * 100).toFixed(0)}%`);
      }
      rows.push(row(D, `weighted shares, ${SUBNETS} ECS /24s, ${d.host} (${parts.join(', ')})`, `max off ${(worst * 100).toFixed(2)} pts`, '≤ 2 pts', worst <= 0.02));
    }
    if (misses.length) log(`misses: ${misses.join('; ')}`);
    return rows;
  },
};
