/**
 * Region lists in policy config: `[a, b, [c, d]]` is a preference order where a nested list is
 * one tier whose members share traffic by weight. Regions of the service that a list leaves out
 * follow in the service's own order, so a list is a preference and never a cage: a client is
 * never failed open onto a down region while a healthy one exists.
 * @module
 */
import type { Candidate, Region } from './types.js';

export type TierList = string[][];

export function parseTierList(json: unknown, regionIds: string[], where: string): TierList {
  if (!Array.isArray(json) || json.length === 0) throw new Error(`${where} must be a non-empty list of region ids`);
  const seen = new Set<string>();
  return json.map((entry, i) => {
    const tier = Array.isArray(entry) ? entry : [entry];
    if (tier.length === 0) throw new Error(`${where}[${i}] is an empty tier`);
    return tier.map((id) => {
      if (typeof id !== 'string') throw new Error(`${where}[${i}] must be a region id or a list of them`);
      if (!regionIds.includes(id)) throw new Error(`${where}[${i}]: unknown region "${id}" (service regions: ${regionIds.join(', ')})`);
      if (seen.has(id)) throw new Error(`${where}: region "${id}" listed twice`);
      seen.add(id);
      return id;
    });
  });
}

/** Candidates in list order, then the service's remaining regions, each in a tier of its own. */
export function candidatesFromTiers(tiers: TierList, all: Candidate[]): Candidate[] {
  const byId = new Map(all.map((c) => [c.region.id, c.region] as const));
  const out: Candidate[] = [];
  tiers.forEach((tier, t) => {
    for (const id of tier) out.push({ region: byId.get(id)!, tier: t });
  });
  const listed = new Set(out.map((c) => c.region.id));
  let t = tiers.length;
  for (const c of all) if (!listed.has(c.region.id)) out.push({ region: c.region, tier: t++ });
  return out;
}

export function asRecord(json: unknown, where: string): Record<string, unknown> {
  if (json === undefined || json === null) return {};
  if (typeof json !== 'object' || Array.isArray(json)) throw new Error(`${where} must be a mapping`);
  return json as Record<string, unknown>;
}

/** A config error that knows where below `policy` it is (`['geo', 'subdivisions', 'XX-CA']`). */
export class ConfigPathError extends Error {
  constructor(
    readonly path: string[],
    message: string,
  ) {
    super(message);
  }
}

/** Every problem found in one pass over a config, each with its path below `policy`. */
export class ConfigProblems extends Error {
  constructor(readonly problems: ConfigPathError[]) {
    super(problems[0]?.message ?? 'invalid policy');
  }
}

/**
 * Runs one check and collects what it throws into `into` instead of stopping there (a plain Error
 * gets `path`), so a config with several mistakes reports all of them; undefined when it threw.
 */
export function attempt<T>(into: ConfigPathError[], path: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigProblems) into.push(...err.problems);
    else if (err instanceof ConfigPathError) into.push(err);
    else into.push(new ConfigPathError(path, (err as Error).message));
    return undefined;
  }
}

export function rejectUnknownKeys(obj: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw new Error(`${where}: unknown key "${k}" (allowed: ${allowed.join(', ')})`);
}

export type { Region };
