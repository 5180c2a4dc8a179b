/**
 * A dry run's "what would clients get": every service is asked for each sample address, before and
 * after (two configs, or one config under two sets of overrides), through explain (the live
 * decision code), and the differences are listed. The sample is the request's, else recent real
 * clients, else a built-in spread.
 * @module
 */
import { isIP } from 'node:net';
import type { CompiledDocument } from '../config/document.js';
import { explain, type Explanation } from '../routing/explain.js';
import type { Service } from '../routing/service.js';
import type { AdminDeps } from './context.js';

/**
 * One well-known address per continent (root and RIR servers, public resolvers), v4 and v6, so a
 * dry run without traffic still shows how the world's clients move. Where they geolocate depends on
 * the database in use; explain shows the record that decided.
 */
export const BUILT_IN_SAMPLE = [
  '8.8.8.8', // NA (Google, US)
  '2001:4860:4860::8888',
  '193.0.6.139', // EU (RIPE NCC, NL)
  '2001:67c:2e8:22::c100:68b',
  '202.12.29.205', // OC/AS (APNIC, AU)
  '2001:dc0:2001:11::194',
  '200.160.2.3', // SA (NIC.br)
  '2001:12ff:0:2::3',
  '196.216.2.1', // AF (AFRINIC, MU)
  '2001:43f8:110::10',
  '210.130.1.1', // AS (IIJ, JP)
  '81.2.69.160', // EU (GB; a network of the test fixture database too)
];

export const MAX_SAMPLE = 1000;

export interface AnswerChange {
  service: string;
  client: string;
  qtype: 'A' | 'AAAA';
  before: AnswerView | null;
  after: AnswerView | null;
}

export interface AnswerView {
  rcode: string;
  addresses: string[];
  ttl: number;
}

export interface AnswerChanges {
  /** Where the sample came from. */
  source: 'request' | 'recent' | 'built-in';
  clients: number;
  /** Service × client × family lookups compared. */
  compared: number;
  changed: AnswerChange[];
}

const view = (e: Explanation | null): AnswerView | null => (e ? { rcode: e.rcode, addresses: e.addresses, ttl: e.ttl } : null);
const same = (a: AnswerView | null, b: AnswerView | null): boolean => JSON.stringify(a) === JSON.stringify(b);

/** How a config change would move answers: the services of both compiled configs, compared. */
export function sampleAnswerChanges(deps: AdminDeps, before: CompiledDocument | null, after: CompiledDocument, requested?: string[]): AnswerChanges {
  return compareAnswers(deps, before ? deps.servicesFor(before) : new Map(), deps.servicesFor(after), requested);
}

/**
 * Asks both sets of services (one config under two health states, or two configs) for every
 * sample client and lists the answers that differ.
 */
export function compareAnswers(deps: AdminDeps, old: Map<string, Service>, next: Map<string, Service>, requested?: string[]): AnswerChanges {
  const recent = deps.recentClients();
  const source: AnswerChanges['source'] = requested?.length ? 'request' : recent.length ? 'recent' : 'built-in';
  const clients = (source === 'request' ? requested! : source === 'recent' ? recent : BUILT_IN_SAMPLE).filter((a) => isIP(a) !== 0).slice(0, MAX_SAMPLE);
  const names = new Set([...old.keys(), ...next.keys()]);
  const changed: AnswerChange[] = [];
  let compared = 0;
  for (const name of names) {
    for (const client of clients) {
      for (const qtype of ['A', 'AAAA'] as const) {
        compared++;
        const a = old.has(name) ? explain(old, name, client, { qtype }) : null;
        const b = next.has(name) ? explain(next, name, client, { qtype }) : null;
        const va = view(a?.ok ? a.explanation : null);
        const vb = view(b?.ok ? b.explanation : null);
        if (!same(va, vb)) changed.push({ service: name, client, qtype, before: va, after: vb });
      }
    }
  }
  return { source, clients: clients.length, compared, changed: changed.slice(0, 1000) };
}
