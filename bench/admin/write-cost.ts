/**
 * What one endpoint registration costs in process, step by step, on bench:scale's deployment
 * (10,000 endpoints, 200 regions, 1,000 services; issue 17): the admin API's copy of the head
 * document, its compile (schema defaults and checks, routing, zones), the version's diff, and the
 * node applying another node's version (a compile of the new document by a process that compiled
 * the previous one). Medians of `--rounds` (default 9) registrations, each in a new region.
 *
 *   npm run bench:write [-- --rounds 9]
 * @module
 */
import { parseArgs } from 'node:util';
import '../../src/node/config.js';
import type { ConfigDocument } from '../../src/config/document.js';
import { compileDocument } from '../../src/node/document.js';
import { diffDocuments, exactDelta } from '../../src/store/diff.js';
import { deployment } from '../scale/deployment.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' } } });
const rounds = Number(values.rounds);

const d = deployment({ regions: 200, services: 1_000, endpoints: 10_000 });
const soa = { name: '@', type: 'SOA', data: 'ns1 host 1 7200 3600 1209600 300' };
const first = compileDocument({
  zones: [{ origin: d.zone, records: [soa, { name: '@', type: 'NS', data: 'ns1' }, { name: 'ns1', type: 'A', data: '127.0.0.1' }] }],
  regions: d.regions,
  services: d.services,
});
if (!first.ok) throw new Error(JSON.stringify(first.problems.slice(0, 3)));

const steps = ['copy', 'compile', 'diff', 'delta', 'apply'] as const;
const times: Record<(typeof steps)[number], number[]> = { copy: [], compile: [], diff: [], delta: [], apply: [] };
const timed = <T>(step: (typeof steps)[number], fn: () => T): T => {
  const start = performance.now();
  const out = fn();
  times[step].push(performance.now() - start);
  return out;
};

let head: ConfigDocument = first.document;
for (let i = 0; i < rounds; i++) {
  // The head as the store hands it out: a fresh JSON copy (store/chain.ts recordOf).
  const current = JSON.parse(JSON.stringify(head)) as ConfigDocument;
  const draft = timed('copy', () => JSON.parse(JSON.stringify(current)) as ConfigDocument);
  draft.regions[i % draft.regions.length]!.endpoints.push({ id: `bench-${i}`, address: '127.0.0.1', port: 9 } as ConfigDocument['regions'][number]['endpoints'][number]);
  const result = timed('compile', () => compileDocument(draft));
  if (!result.ok) throw new Error(JSON.stringify(result.problems.slice(0, 3)));
  timed('diff', () => diffDocuments(current, result.document));
  timed('delta', () => exactDelta(current, result.document));
  // Another node applies the version: the store's copy of the new document, compiled there.
  const stored = JSON.parse(JSON.stringify(result.document)) as ConfigDocument;
  timed('apply', () => compileDocument(stored));
  head = result.document;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`| step | median ms (${rounds} registrations) | min | max |`);
console.log('|---|---|---|---|');
for (const s of steps) console.log(`| ${s} | ${median(times[s]).toFixed(1)} | ${Math.min(...times[s]).toFixed(1)} | ${Math.max(...times[s]).toFixed(1)} |`);
