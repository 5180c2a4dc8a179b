/**
 * The comparison a dry run makes, on services already built: every sample client asks each service
 * for A and AAAA before and after, through explain (the live decision code), and the answers that
 * differ are listed (the answer as explain reports it: rcode, addresses, TTL). It runs in the dry-run worker (src/node/dryrun-worker.ts), never on the DNS
 * event loop, and its cost follows the change: a service whose inputs (its definition, its regions
 * and their health) are the same on both sides cannot answer differently and is not asked; the
 * rest are asked whole service by whole service up to a lookup cap.
 * @module
 */
import type { ConfigDocument } from '../config/document.js';
import type { HealthSnapshot } from '../health/snapshot.js';
import type { HealthView } from './health-view.js';
import type { Client } from '../policy/types.js';
import { clientFromAddress } from '../routing/client.js';
import type { Service } from '../routing/service.js';
import { Rcode } from '../wire/constants.js';

export interface AnswerView {
  rcode: string;
  addresses: string[];
  ttl: number;
}

export interface AnswerChange {
  service: string;
  client: string;
  qtype: 'A' | 'AAAA';
  before: AnswerView | null;
  after: AnswerView | null;
}

export interface Comparison {
  /** Service × client × family lookups compared. */
  compared: number;
  services: {
    /** Services whose answers were compared. */
    compared: number;
    /** Services with the same definition, regions and region health on both sides: they cannot move, so they were not asked. */
    unchanged: number;
    /** Services that might move but were left out: comparing them would pass the lookup cap. */
    cut: number;
  };
  /** True when the lookup cap (admin.dryRunMaxLookups) left services out. */
  truncated: boolean;
  /** The answers that differ, at most MAX_CHANGES. */
  changed: AnswerChange[];
}

/** One side of a comparison: its services, the health they decide with, and their definitions as written. */
export interface ComparedSide {
  services: Map<string, Service>;
  health: HealthSnapshot;
  /** The service as written in the document (by canonical name): its policy's settings live in the compiled chain's closures. */
  source(name: string): unknown;
}

/** One side of a dry run, as plain data: a worker compiles the document and decides with the health. */
export interface DryRunSide {
  /** null: no config on this side (every service is new). */
  document: ConfigDocument | null;
  health: HealthView;
}

/** What a dry run hands to its runner: plain data only (it crosses to a worker thread). */
export interface DryRunJob {
  before: DryRunSide;
  after: DryRunSide;
  clients: string[];
  /** admin.dryRunMaxLookups. */
  maxLookups: number;
}

/**
 * Runs the comparison of a job off the DNS event loop (src/node/dryrun-pool.ts: one worker thread,
 * jobs queued, a full queue refused with MERIDIAN_ERR_DRY_RUN_BUSY).
 */
export interface DryRunner {
  run(job: DryRunJob): Promise<Comparison>;
}

export const MAX_CHANGES = 1000;

/**
 * A service's answer for a client, as explain reports it: the same Service.compute the DNS path
 * and explain run (explain adds a trace, which a comparison of answers does not read).
 */
function answer(s: Service | undefined, client: Client, qfamily: 4 | 6): AnswerView | null {
  if (!s) return null;
  const d = s.compute(client, qfamily, null);
  return { rcode: d.rcode === Rcode.SERVFAIL ? 'SERVFAIL' : 'NOERROR', addresses: d.addresses, ttl: s.ttlFor(d.addresses) };
}
const same = (a: AnswerView | null, b: AnswerView | null): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Everything a service's decision reads, as one string: its definition as written and compiled,
 * its regions (location, addresses, weight, drain TTLs) and what the health says of them.
 */
export function serviceInputs(side: ComparedSide, s: Service): string {
  const h = side.health;
  const health = s.def.regions.map((r) => [h.region(r.id), h.effectiveWeight?.(r.id, r.weight) ?? r.weight, [...r.ipv4, ...r.ipv6].filter((a) => !h.addressUp(r.id, a))]);
  return JSON.stringify([side.source(s.def.name), s.def.ttl, s.def.answers, s.def.chain.names, s.def.regions, [...(s.def.drainTtls ?? [])], health]);
}

/** The services of either side that may answer differently on the other. */
function mayMove(before: ComparedSide, after: ComparedSide): { names: string[]; unchanged: number } {
  const names: string[] = [];
  let unchanged = 0;
  for (const name of new Set([...before.services.keys(), ...after.services.keys()])) {
    const a = before.services.get(name);
    const b = after.services.get(name);
    if (a && b && serviceInputs(before, a) === serviceInputs(after, b)) unchanged++;
    else names.push(name);
  }
  return { names, unchanged };
}

/** Compares the answers of both sides for every client, service by service, within `maxLookups`. */
export function compareSides(before: ComparedSide, after: ComparedSide, clients: string[], maxLookups: number): Comparison {
  const { names, unchanged } = mayMove(before, after);
  const perService = clients.length * 2;
  const changed: AnswerChange[] = [];
  let compared = 0;
  let done = 0;
  const parsed = clients.map((c) => clientFromAddress(c, 'explain'));
  for (const name of names) {
    if (compared + perService > maxLookups) break;
    done++;
    const a = before.services.get(name);
    const b = after.services.get(name);
    parsed.forEach((client, i) => {
      for (const qtype of ['A', 'AAAA'] as const) {
        compared++;
        const va = answer(a, client, qtype === 'A' ? 4 : 6);
        const vb = answer(b, client, qtype === 'A' ? 4 : 6);
        if (!same(va, vb) && changed.length < MAX_CHANGES) changed.push({ service: name, client: clients[i]!, qtype, before: va, after: vb });
      }
    });
  }
  const cut = names.length - done;
  return { compared, services: { compared: done, unchanged, cut }, truncated: cut > 0, changed };
}
