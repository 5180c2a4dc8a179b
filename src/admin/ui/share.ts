/**
 * Each region's share of recent answers, as this node decides them: for a sample of the clients its
 * DNS listeners saw lately (the dry-run sample, `admin.sampleSize`: one service query in 16 is sampled) and every
 * service, the A or AAAA answer the client's family gets now, counted by the region whose address
 * it carries. Decisions come from the services' own caches, so a tick costs lookups, not chain
 * runs, once the sample is warm. It weighs clients, not query volume: a resolver sending a thousand
 * queries counts once.
 * @module
 */
import type { Service } from '../../routing/service.js';
import { clientFromAddress } from '../../routing/client.js';

/** Clients of the sample looked at per tick: bounds the work to clients × services lookups. */
export const SHARE_CLIENTS = 256;

export interface AnswerShare {
  /** Answers counted (clients × services that answered with an address). */
  answers: number;
  /** Region id -> fraction of those answers carrying one of its addresses (0..1). */
  byRegion: Map<string, number>;
}

export function answerShare(services: Iterable<Service>, clients: readonly string[], limit = SHARE_CLIENTS): AnswerShare {
  const counts = new Map<string, number>();
  let answers = 0;
  const sample = clients.slice(0, limit).flatMap((a) => {
    try {
      return [clientFromAddress(a)];
    } catch {
      return [];
    }
  });
  for (const service of services) {
    const owner = new Map<string, string>();
    for (const r of service.def.regions) for (const a of [...r.ipv4, ...r.ipv6]) owner.set(a, r.id);
    for (const client of sample) {
      const decision = service.decide(client, client.family);
      const regions = new Set(decision.addresses.map((a) => owner.get(a)).filter((r): r is string => r !== undefined));
      if (regions.size === 0) continue;
      answers++;
      // An answer carrying two regions (multivalue) counts half to each, so shares add up to 1.
      for (const r of regions) counts.set(r, (counts.get(r) ?? 0) + 1 / regions.size);
    }
  }
  const byRegion = new Map<string, number>();
  for (const [r, n] of counts) byRegion.set(r, answers ? n / answers : 0);
  return { answers, byRegion };
}
