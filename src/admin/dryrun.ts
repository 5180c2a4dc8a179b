/**
 * A dry run's "what would clients get": every service is asked for each sample address, before and
 * after (two configs, or one config under two sets of overrides), through explain (the live
 * decision code), and the differences are listed. The sample is the request's, else recent real
 * clients, else a built-in spread. This module gathers the inputs as plain data on the event loop
 * (documents, the health as a view, the sample: no decision is made here) and hands them to a
 * DryRunner, which compares off the loop (dryrun-compare.ts in a worker thread).
 * @module
 */
import { isIP } from 'node:net';
import type { CompileResult, ConfigDocument } from '../config/document.js';
import type { Override } from '../health/types.js';
import type { Region } from '../policy/types.js';
import type { AdminDeps } from './context.js';
import type { Comparison, DryRunSide } from './dryrun-compare.js';
import { materialiseHealth } from './health-view.js';

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

export type { AnswerChange, AnswerView, DryRunJob, DryRunner, DryRunSide } from './dryrun-compare.js';

export interface AnswerChanges extends Comparison {
  /** Where the sample came from. */
  source: 'request' | 'recent' | 'built-in';
  clients: number;
}

/** The sample a dry run compares: the request's, else recent real clients, else the built-in spread; at most MAX_SAMPLE. */
export function sampleClients(deps: AdminDeps, requested?: string[]): { source: AnswerChanges['source']; clients: string[] } {
  const recent = deps.recentClients();
  const source: AnswerChanges['source'] = requested?.length ? 'request' : recent.length ? 'recent' : 'built-in';
  const clients = (source === 'request' ? requested! : source === 'recent' ? recent : BUILT_IN_SAMPLE).filter((a) => isIP(a) !== 0).slice(0, MAX_SAMPLE);
  return { source, clients };
}

async function run(deps: AdminDeps, before: DryRunSide, after: DryRunSide, requested: string[] | undefined): Promise<AnswerChanges> {
  const { source, clients } = sampleClients(deps, requested);
  const result = await deps.dryRuns.run({ before, after, clients, maxLookups: deps.settings.dryRunMaxLookups });
  return { source, clients: clients.length, ...result };
}

/**
 * How a config change would move answers: both documents decided with this node's health and geo
 * database. The health is asked about the regions of the live config and of the new one (a
 * region or address it does not know answers as unknown: up).
 */
export function configAnswers(deps: AdminDeps, before: ConfigDocument, after: CompileResult & { ok: true }, requested?: string[]): Promise<AnswerChanges> {
  const health = materialiseHealth(deps.health(), [...liveRegions(deps), after.compiled.routing.regions]);
  return run(deps, { document: before, health }, { document: after.document, health }, requested);
}

/** How a change of overrides would move answers: the live config under the overrides in force, and under `next`. */
export function overrideAnswers(deps: AdminDeps, document: ConfigDocument, current: Override[], next: Override[], requested?: string[]): Promise<AnswerChanges> {
  const regions = liveRegions(deps);
  const side = (overrides: Override[]): DryRunSide => ({ document, health: materialiseHealth(deps.healthUnder(overrides), regions) });
  return run(deps, side(current), side(next), requested);
}

/** The regions the live services use, as the health snapshot knows them. */
function liveRegions(deps: AdminDeps): Region[][] {
  return [...deps.live().services.values()].map((s) => s.def.regions);
}
