/**
 * Operator overrides: scope strings, states, expiry durations, validation of stored records and
 * the CLI listing. Both buses store `Override` records as JSON; everything that reads one back
 * goes through `parseOverride`, so a hand-edited file or a foreign Redis value is rejected with a
 * reason instead of reaching the aggregate half-formed.
 * @module
 */
import type { RegionState } from './snapshot.js';
import type { EndpointKey, Override, OverrideScope } from './types.js';

/** The same patterns as the config schema (region id, endpoint id), so every configured name is addressable. */
const REGION_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;
const STATES: readonly RegionState[] = ['up', 'down', 'drained'];

export type ParsedScope = { kind: 'region'; scope: OverrideScope; region: string } | { kind: 'endpoint'; scope: OverrideScope; region: string; endpoint: string; key: EndpointKey };

/** `region/<id>` or `endpoint/<region>/<id>`; throws `override scope: <reason>`. */
export function parseScope(text: string): ParsedScope {
  const parts = text.split('/');
  if (parts[0] === 'region' && parts.length === 2) {
    const region = parts[1]!;
    if (!REGION_ID.test(region)) throw new Error(`override scope: bad region id '${region}' in '${text}'`);
    return { kind: 'region', scope: `region/${region}`, region };
  }
  if (parts[0] === 'endpoint' && parts.length === 3) {
    const region = parts[1]!;
    const endpoint = parts[2]!;
    if (!REGION_ID.test(region)) throw new Error(`override scope: bad region id '${region}' in '${text}'`);
    if (!ENDPOINT_ID.test(endpoint)) throw new Error(`override scope: bad endpoint id '${endpoint}' in '${text}'`);
    return { kind: 'endpoint', scope: `endpoint/${region}/${endpoint}`, region, endpoint, key: `${region}/${endpoint}` };
  }
  throw new Error(`override scope: expected 'region/<id>' or 'endpoint/<region>/<id>', got '${text}'`);
}

export function regionScope(region: string): OverrideScope {
  return `region/${region}`;
}

/** The scope that overrides one endpoint (`<region>/<id>` → `endpoint/<region>/<id>`). */
export function endpointScope(key: EndpointKey): OverrideScope {
  return `endpoint/${key}` as OverrideScope; // keys are `<region>/<id>` by construction
}

export function parseState(text: string): RegionState {
  const s = text.toLowerCase();
  if ((STATES as readonly string[]).includes(s)) return s as RegionState;
  throw new Error(`override state: expected up, down or drained, got '${text}'`);
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `30m`, `2h`, `1d`, `1h30m`, `90s` → milliseconds. Seconds are the smallest unit: an override is
 * a human action, and sub-second expiry would only hide typos like `30` (meant as minutes).
 */
export const MAX_DURATION_MS = 366 * 86_400_000;

export function parseDuration(text: string): number {
  const t = text.trim();
  if (!/^(\d+[smhd])+$/.test(t)) throw new Error(`duration: expected e.g. 30m, 2h, 1d or 1h30m, got '${text}'`);
  let ms = 0;
  for (const m of t.matchAll(/(\d+)([smhd])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms <= 0) throw new Error(`duration: must be positive, got '${text}'`);
  // A bound keeps expiry times representable (Date, JSON) and catches typos like 30000d.
  if (ms > MAX_DURATION_MS) throw new Error(`duration: at most 366d, got '${text}'`);
  return ms;
}

/** `2h 5m`, `45s`, `3d 4h`: the two largest units, enough for a listing. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return ms <= 0 ? '0s' : '<1s';
  const parts: string[] = [];
  let rest = Math.floor(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

export function isExpired(o: Pick<Override, 'expiresAt'>, now: number): boolean {
  return o.expiresAt !== null && o.expiresAt <= now;
}

export interface NewOverride {
  scope: string;
  state: string;
  /** A duration (`30m`); absent or null = until cleared. */
  for?: string | null;
  reason: string;
  author: string;
  now: number;
}

/** Builds a validated override from operator input (CLI flags, admin API body). */
export function makeOverride(input: NewOverride): Override {
  const { scope } = parseScope(input.scope);
  const reason = input.reason.trim();
  const author = input.author.trim();
  if (!reason) throw new Error('override: a reason is required (it is what the next on-call reads)');
  if (!author) throw new Error('override: an author is required');
  const expiresAt = input.for ? input.now + parseDuration(input.for) : null;
  return { scope, state: parseState(input.state), expiresAt, reason, author, createdAt: input.now };
}

/** Validates a stored record (JSON from a file or Redis); throws `override: <reason>`. */
export function parseOverride(value: unknown): Override {
  if (typeof value !== 'object' || value === null) throw new Error('override: not an object');
  const v = value as Record<string, unknown>;
  if (typeof v.scope !== 'string') throw new Error('override: scope must be a string');
  const { scope } = parseScope(v.scope);
  if (typeof v.state !== 'string') throw new Error(`override ${scope}: state must be a string`);
  const state = parseState(v.state);
  const expiresAt = v.expiresAt ?? null;
  if (expiresAt !== null && !Number.isFinite(expiresAt)) throw new Error(`override ${scope}: expiresAt must be a number or null`);
  if (!Number.isFinite(v.createdAt)) throw new Error(`override ${scope}: createdAt must be a number`);
  return {
    scope,
    state,
    expiresAt: expiresAt as number | null,
    reason: typeof v.reason === 'string' ? v.reason : '',
    author: typeof v.author === 'string' ? v.author : '',
    createdAt: v.createdAt as number,
  };
}
