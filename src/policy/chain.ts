/**
 * Builds a service's chain from its `policy:` mapping (validated once, at load) and runs it.
 * Explain runs the very same function with a trace array: there is no second implementation.
 * @module
 */
import { parseAllDown, type AllDownConfig } from './alldown.js';
import { addressesOf, buildHealthStep } from './health.js';
import { asRecord, attempt, ConfigPathError, ConfigProblems } from './lists.js';
import { REGISTRY } from './registry.js';
import type { Candidate, ChainState, ParseNotes, PolicyContext, PolicyStep, Region } from './types.js';

/** Config errors that point below `policy` (compileChain's callers map the path to a line or field). */
export { ConfigPathError, ConfigProblems } from './lists.js';

export interface CompiledChain {
  steps: PolicyStep[];
  /** Step names in chain order, for explain and logs. */
  names: string[];
  needsGeo: boolean;
  allDown: AllDownConfig;
  /** Accepted but suspect config, with paths below `policy` (`meridian check` prints them). */
  warnings: ParseNotes['warnings'];
  /** Subdivisions the rules name: they never match with a country-only geo database. */
  subdivisions: string[];
}

/**
 * Throws on a bad config: a ConfigProblems with every problem found (unknown policies, phase
 * clashes, allDown, each policy's own), each with its path below `policy`, so `meridian check` and
 * the admin API report them all at once. Its message is the first problem's.
 */
export function compileChain(policyJson: unknown, allDownJson: unknown, regionIds: string[]): CompiledChain {
  const requested = asRecord(policyJson, 'policy');
  const problems: ConfigPathError[] = [];
  for (const name of Object.keys(requested)) {
    if (!REGISTRY.some((p) => p.name === name)) problems.push(new ConfigPathError([name], `policy: unknown policy "${name}" (known: ${REGISTRY.map((p) => p.name).join(', ')})`));
  }
  const used = REGISTRY.filter((p) => p.name in requested);
  for (const phase of ['locate', 'balance', 'select'] as const) {
    const inPhase = used.filter((p) => p.phase === phase).map((p) => p.name);
    if (inPhase.length > 1) problems.push(new ConfigPathError([], `policy: ${inPhase.join(' and ')} cannot be combined (both ${phase} clients)`));
  }
  const allDown = attempt(problems, [], () => parseAllDown(allDownJson, regionIds));
  const notes: ParseNotes = { warnings: [], subdivisions: [] };
  const build = (p: (typeof REGISTRY)[number]): PolicyStep | undefined => attempt(problems, [p.name], () => p.build(p.parseConfig(requested[p.name], regionIds, notes)));
  const locate = used.filter((d) => d.phase === 'locate').map((p) => [p.name, build(p)] as const);
  const rest = used.filter((d) => d.phase !== 'locate').map((p) => [p.name, build(p)] as const);
  if (problems.length || !allDown) throw new ConfigProblems(problems);
  const steps: [string, PolicyStep][] = [...(locate as [string, PolicyStep][]), ['health', buildHealthStep(allDown)], ...(rest as [string, PolicyStep][])];
  return { steps: steps.map((s) => s[1]), names: steps.map((s) => s[0]), needsGeo: used.some((p) => p.needsGeo), allDown, ...notes };
}

export interface ChainResult {
  state: ChainState;
  /** The addresses answered, in order. */
  addresses: string[];
  /** The regions those addresses belong to, in order. */
  regions: string[];
}

/** What a decision needs: the policy context plus the service's regions and answer count. */
export type ChainInput = PolicyContext & { regions: Region[]; answers: number };

export function runChain(chain: CompiledChain, input: ChainInput): ChainResult {
  const { regions, answers, ...ctx } = input;
  // One tier: a service's regions are peers until a locate step (geo, proximity, failover) ranks
  // them, so weighted and sticky alone balance across all of them; without a balance step the
  // first in service order answers.
  const initial: Candidate[] = regions.map((region) => ({ region, tier: 0 }));
  let state: ChainState = {
    candidates: initial,
    scope: 0,
    allDown: false,
    servfail: false,
    maxAddresses: Number.POSITIVE_INFINITY,
    regionsToAnswer: answers,
  };
  for (const step of chain.steps) state = step(state, ctx);
  const addresses: string[] = [];
  const answered: string[] = [];
  if (!state.servfail) {
    for (const c of state.candidates) {
      if (answered.length >= state.regionsToAnswer || addresses.length >= state.maxAddresses) break;
      const fam = addressesOf(c.region, input.qfamily);
      // In the all-down case every address counts as up: that is what failing open means.
      const usable = state.allDown ? fam : fam.filter((a) => input.health.addressUp(c.region.id, a));
      if (usable.length === 0) continue;
      answered.push(c.region.id);
      for (const a of usable) {
        if (addresses.length >= state.maxAddresses) break;
        addresses.push(a);
      }
    }
  }
  input.trace?.push(
    state.servfail
      ? 'answer: SERVFAIL (all down, policy servfail)'
      : `answer: ${addresses.join(', ') || 'no addresses (NODATA)'}; ${state.scope === 0 ? 'the same for every client' : `the same for the client's /${state.scope}`}`,
  );
  return { state, addresses, regions: answered };
}
