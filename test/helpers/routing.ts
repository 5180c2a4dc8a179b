/**
 * Shared by the routing tests that drive a node with many clients (test/routing/matrix.test.ts,
 * test/routing/property.test.ts): reproducible client populations, reading replies, and bounded
 * concurrency for API requests.
 * @module
 */
import assert from 'node:assert/strict';
import { readAddresses } from './packets.js';

/** Deterministic PRNG (mulberry32), so every run uses the same clients. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` distinct /24s of 3.0.0.0/8 outside 3.101.0.0/16 (San Jose in the fixture): all Ashburn. */
export function ashburnSubnets(n: number, seed: number): string[] {
  const all: number[] = [];
  for (let i = 0; i < 65536; i++) if (i >> 8 !== 101) all.push(i);
  const rnd = prng(seed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rnd() * (all.length - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, n).map((i) => `3.${i >> 8}.${i & 255}.0/24`);
}

/** Rcode names by number, for messages that print them. */
export const RCODE = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN'];

/** What a routing test reads from a reply. */
export interface Answer {
  rcode: string;
  addresses: string[];
  scope: number | null;
}

/** The reply read by readAddresses, its rcode by name. */
export function answerOf(raw: Buffer): Answer {
  const r = readAddresses(raw);
  return { rcode: RCODE[r.rcode] ?? String(r.rcode), addresses: r.addresses, scope: r.scope };
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function eachLimit<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export interface ExplainClient {
  /** ECS option as sent, or undefined for a query without one (the resolver's address decides). */
  ecs: string | undefined;
  type: 'A' | 'AAAA';
}

/** IPv4 or IPv6 text of `bytes` with every bit past `prefix` cleared. */
export function masked(bytes: number[], prefix: number): string {
  const b = bytes.map((x, i) => x & (0xff << Math.max(0, Math.min(8, 8 * (i + 1) - prefix))) & 0xff);
  if (b.length === 4) return b.join('.');
  return Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
}

/**
 * Random clients of every kind a resolver sends: Ashburn /24s, any IPv4 subnet of any length, the
 * fixture's networks (every geo branch), IPv6 subnets, ECS /0 and no ECS; A and AAAA.
 */
export function explainClients(n: number, seed: number): ExplainClient[] {
  const rnd = prng(seed);
  const int = (k: number): number => Math.floor(rnd() * k);
  const FIXTURE4 = [
    [81, 2, 69],
    [2, 16, 32],
    [2, 16, 7],
    [3, 101, 4],
    [24, 48, 2],
    [43, 224, 5],
    [103, 5, 140],
    [13, 54, 3],
    [177, 71, 130],
    [41, 0, 9],
    [192, 0, 2],
    [198, 51, 100],
    [203, 0, 113],
  ];
  const FIXTURE6 = [
    [0x2600, 0x1f18],
    [0x2600, 0x1f1c],
    [0x2001, 0x0db8],
    [0x2400, 0xcb00],
    [0x2406, 0xda1c],
    [0x2804, 0x014c],
    [0x2c0f, 0xfb50],
    [0x3fff, 0x0001],
  ];
  return Array.from({ length: n }, (): ExplainClient => {
    const type = rnd() < 0.8 ? 'A' : 'AAAA';
    const kind = int(10);
    if (kind < 3) return { ecs: `3.${int(256)}.${int(256)}.0/24`, type };
    if (kind < 5) {
      const prefix = 1 + int(32);
      return { ecs: `${masked([int(256), int(256), int(256), int(256)], prefix)}/${prefix}`, type };
    }
    if (kind < 7) {
      const [a, b, c] = FIXTURE4[int(FIXTURE4.length)]!;
      return { ecs: `${a}.${b}.${c}.${int(256)}/${rnd() < 0.5 ? 24 : 32}`, type };
    }
    if (kind < 9) {
      const [g0, g1] = FIXTURE6[int(FIXTURE6.length)]!;
      const bytes = [g0! >> 8, g0! & 255, g1! >> 8, g1! & 255, ...Array.from({ length: 12 }, () => int(256))];
      const prefix = [32, 48, 56, 64][int(4)]!;
      return { ecs: `${masked(bytes, prefix)}/${prefix}`, type };
    }
    return { ecs: rnd() < 0.5 ? '0.0.0.0/0' : undefined, type };
  });
}

/** Each value's share of the list. */
export function sharesOf(regions: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of regions) out.set(r, (out.get(r) ?? 0) + 1);
  for (const [r, n] of out) out.set(r, n / regions.length);
  return out;
}

/**
 * Every region's observed share (of `regions`, one entry per client) within ±2 percentage points
 * of its expected share, or five standard deviations of a share over that many clients when that
 * is wider; a region expected to get nothing must get nothing.
 */
export function assertShares(what: string, regions: string[], expected: Map<string, number>): void {
  const observed = sharesOf(regions);
  const ids = new Set([...observed.keys(), ...expected.keys()]);
  const table = [...ids].map((id) => `${id} ${((observed.get(id) ?? 0) * 100).toFixed(2)}% (want ${((expected.get(id) ?? 0) * 100).toFixed(2)}%)`).join(', ');
  for (const id of ids) {
    const p = expected.get(id) ?? 0;
    const bound = p === 0 ? 0 : Math.max(0.02, 5 * Math.sqrt((p * (1 - p)) / regions.length));
    assert.ok(Math.abs((observed.get(id) ?? 0) - p) <= bound, `${what} over ${regions.length} client /24s: ${table}`);
  }
}

/** What the documented policy semantics (src/policy/README.md) need to predict a decision. */
export interface DecisionModel {
  /** The located tiers for the client, best first: every region of the service exactly once. */
  tiers: string[][];
  weight: ReadonlyMap<string, number>;
  state(id: string): 'up' | 'down' | 'drained';
  /** A balance step (weighted or sticky) is in the chain. */
  balanced: boolean;
  allDown: { mode: 'failopen' } | { mode: 'fallback'; region: string } | { mode: 'servfail' };
}

/**
 * The documented shares of first answers ('SERVFAIL' stands for that answer), written from the
 * README and not from the code: the healthy regions of the located tiers; none healthy: the
 * all-down mode (fail open: every region not drained, in its tier; fallback: that region;
 * servfail). Without a balance step the first region answers; with one, the best tier that has a
 * region with weight shares by weight, and standby regions (weight 0) share equally only when no
 * region with weight is left.
 */
export function documentedShares(m: DecisionModel): Map<string, number> {
  const keep = (pred: (id: string) => boolean): string[][] => m.tiers.map((t) => t.filter(pred)).filter((t) => t.length > 0);
  let tiers = keep((id) => m.state(id) === 'up');
  if (tiers.length === 0) {
    if (m.allDown.mode === 'servfail') return new Map([['SERVFAIL', 1]]);
    if (m.allDown.mode === 'fallback') return new Map([[m.allDown.region, 1]]);
    tiers = keep((id) => m.state(id) !== 'drained');
    if (tiers.length === 0) tiers = m.tiers;
  }
  if (!m.balanced) return new Map([[tiers[0]![0]!, 1]]);
  const withWeight = tiers.map((t) => t.filter((id) => m.weight.get(id)! > 0)).filter((t) => t.length > 0);
  const members = withWeight[0] ?? tiers[0]!;
  const w = (id: string): number => (withWeight.length > 0 ? m.weight.get(id)! : 1);
  const total = members.reduce((n, id) => n + w(id), 0);
  return new Map(members.map((id) => [id, w(id) / total]));
}

/** Where the geo database puts a client (null fields: unknown), as the geo and proximity steps read it. */
export interface ClientPlace {
  continent: string | null;
  country: string | null;
  subdivision: string | null;
  lat: number | null;
  lon: number | null;
}

/** Great-circle distance (haversine, km), written here so the model does not borrow the code's. */
export function km(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

type TierListJson = (string | string[])[];

/**
 * The tiers src/policy/README.md gives a client for a service's `policy:` (its regions in service
 * order, with their locations): geo's most specific matching list (else `default`, else one tier),
 * failover's list, proximity's effective distances (equal to the km: one tier; no location: one
 * tier), no locate step: one tier. A list's regions come first, a tier per entry (a nested list
 * is one tier), then the regions it leaves out, a tier each.
 */
export function locatedTiers(policy: Record<string, unknown>, regions: { id: string; lat: number; lon: number }[], client: ClientPlace | null): string[][] {
  const ids = regions.map((r) => r.id);
  const fromList = (list: TierListJson): string[][] => {
    const tiers = list.map((t) => (Array.isArray(t) ? t : [t]));
    const listed = new Set(tiers.flat());
    return [...tiers, ...ids.filter((id) => !listed.has(id)).map((id) => [id])];
  };
  const failover = policy.failover as TierListJson | { order: TierListJson } | undefined;
  if (failover) return fromList(Array.isArray(failover) ? failover : failover.order);
  const geo = policy.geo as (Partial<Record<'subdivisions' | 'countries' | 'continents', Record<string, TierListJson>>> & { default?: TierListJson }) | undefined;
  if (geo) {
    const pick = (map: Record<string, TierListJson> | undefined, key: string | null): TierListJson | undefined => (key && map ? map[key.toUpperCase()] : undefined);
    const list = pick(geo.subdivisions, client?.subdivision ?? null) ?? pick(geo.countries, client?.country ?? null) ?? pick(geo.continents, client?.continent ?? null) ?? geo.default;
    return list ? fromList(list) : [ids];
  }
  const proximity = policy.proximity as { bias?: Record<string, number> } | null | undefined;
  if (proximity !== undefined && client?.lat != null && client.lon != null) {
    const at = { lat: client.lat, lon: client.lon };
    // Effective distance d(1 - b/100) for a bias b >= 0, d/(1 + b/100) below.
    const eff = regions.map((r) => {
      const d = km(at, r);
      const b = proximity?.bias?.[r.id] ?? 0;
      return Math.round(b >= 0 ? d * (1 - b / 100) : d / (1 + b / 100));
    });
    return [...new Set(eff)].sort((a, b) => a - b).map((e) => ids.filter((_, i) => eff[i] === e));
  }
  return [ids];
}
