/**
 * `meridian explain NAME CLIENT [--ecs PREFIX]`: the decision for one client, step by step. It looks
 * NAME up with the responder's own lookup (src/dns/lookup.ts, so in-zone CNAMEs are followed into a
 * service exactly as answers do) and runs the service's own chain with a trace (never a second
 * implementation), so it always agrees with what a DNS node with the same config, health and geo
 * database answers.
 * @module
 */
import { isIP } from 'node:net';
import { Rcode } from '../wire/constants.js';
import { lookup } from '../dns/lookup.js';
import { nameKey } from '../dns/writer.js';
import { canonicalOrigin } from '../zone/parse.js';
import { RRType } from '../zone/types.js';
import type { Zone } from '../zone/zone.js';
import { clientFromAddress, clientFromPrefix, clientText } from './client.js';
import type { Service } from './service.js';

export interface Explanation {
  /** The name asked about. */
  name: string;
  /** In-zone CNAMEs followed from `name` to the service (`owner CNAME target`); empty when asked directly. */
  cnames: string[];
  service: string;
  qtype: 'A' | 'AAAA';
  client: string;
  /** The client subnet the query carries, as sent (`0.0.0.0/0` opts out); null: no ECS option. */
  ecs: string | null;
  chain: string[];
  steps: string[];
  rcode: 'NOERROR' | 'SERVFAIL';
  addresses: string[];
  ttl: number;
  /** ECS scope of the answer: 0 for a /0 source, and 0 when the query carries no ECS (the reply then has no option). */
  scope: number;
  allDown: boolean;
}

export type ExplainResult = { ok: true; explanation: Explanation } | { ok: false; error: string };

export interface ExplainOptions {
  ecs?: string;
  qtype?: 'A' | 'AAAA';
  /**
   * The node's zones by apex wire key (ZoneSet.byKey). With them NAME is looked up as a query for it
   * would be, so a CNAME chain is followed into its service; without them NAME must be a service.
   */
  zones?: ReadonlyMap<string, Zone>;
}

/** The service a query for `name` ends at, and the CNAMEs on the way, or why there is none. */
function target(services: ReadonlyMap<string, Service>, name: string, qtype: 'A' | 'AAAA', zones: ReadonlyMap<string, Zone> | undefined): { service: Service; cnames: string[] } | string {
  const qname = canonicalOrigin(name);
  const found = zones ? lookup({ byKey: zones, services }, nameKey(qname), qtype === 'A' ? RRType.A : RRType.AAAA) : null;
  const cnames = found ? found.res.answer.filter((rr) => rr.type === RRType.CNAME).map((rr) => `${rr.owner} CNAME ${(rr.rdatas[0] as { target: string }).target}`) : [];
  const end = found ? found.res.dynamic : qname;
  const service = end === null ? undefined : services.get(end);
  if (service) return { service, cnames };
  const via = cnames.length ? `; its CNAME chain ends at ${cnames.at(-1)!.split(' ').at(-1)}` : '';
  return `${qname} is not a service${via} (services: ${[...services.keys()].join(', ') || 'none'})`;
}

export function explain(services: ReadonlyMap<string, Service>, name: string, clientIp: string, opts: ExplainOptions = {}): ExplainResult {
  // clientFromAddress trusts its input (on the answer path it is a socket's address), so check here.
  if (isIP(clientIp) === 0) return { ok: false, error: `"${clientIp}" is not an IP address` };
  const client = clientFromAddress(clientIp, 'explain');
  let effective = client;
  let sent: string | null = null;
  if (opts.ecs !== undefined) {
    const parsed = clientFromPrefix(opts.ecs);
    if (typeof parsed === 'string') return { ok: false, error: `--ecs: ${parsed}` };
    sent = clientText(parsed);
    // RFC 7871 §7.1.2: a /0 source opts out, and the resolver's own address is used.
    if (parsed.knownBits > 0) effective = parsed;
  }
  const qtype = opts.qtype ?? (effective.family === 6 ? 'AAAA' : 'A');
  const found = target(services, name, qtype, opts.zones);
  if (typeof found === 'string') return { ok: false, error: found };
  const { service, cnames } = found;
  const steps: string[] = cnames.map((c) => `cname: ${c.replace(' CNAME ', ' -> ')}`);
  steps.push(
    `client: ${effective === client ? `${clientText(client)} (resolver address${opts.ecs !== undefined ? '; ECS /0 opts out' : ', no ECS'})` : `ECS ${clientText(effective)} (resolver ${clientText(client)})`}`,
  );
  const d = service.compute(effective, qtype === 'A' ? 4 : 6, steps);
  const usesEcs = effective !== client;
  return {
    ok: true,
    explanation: {
      name: canonicalOrigin(name),
      cnames,
      service: service.def.name,
      qtype,
      client: clientText(client),
      ecs: sent,
      chain: service.def.chain.names,
      steps,
      rcode: d.rcode === Rcode.SERVFAIL ? 'SERVFAIL' : 'NOERROR',
      addresses: d.addresses,
      ttl: service.ttlFor(d.addresses),
      scope: usesEcs ? d.scope : 0,
      allDown: d.allDown,
    },
  };
}

export function formatExplanation(e: Explanation): string {
  const lines = [
    `service ${e.service} ${e.qtype}${e.cnames.length ? ` for ${e.name}` : ''}  (chain: ${e.chain.join(' -> ')})`,
    ...e.steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${s}`),
    e.rcode === 'SERVFAIL'
      ? 'answer: SERVFAIL'
      : `answer: ${e.addresses.length ? e.addresses.map((a) => `${e.qtype} ${a}`).join(', ') : 'NODATA'}  ttl ${e.ttl}  ${e.ecs === null ? 'no ECS (none in the query, none in the reply)' : `ECS scope /${e.scope}`}${e.allDown ? '  [all-down policy]' : ''}`,
  ];
  return lines.join('\n');
}
