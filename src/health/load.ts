/**
 * Load feedback from the forwarders: parsing their reports (they cross Redis as JSON, so nothing is
 * trusted), summing a region's live reports into a utilisation, and the effective-weight factor the
 * weighted and sticky policies apply (aggregate.ts puts it in the snapshot).
 *
 * Factor: 1 up to `threshold` utilisation, then linear down to `floor` at 100 % and beyond. It is
 * quantised to 1/20 steps so that a load that wobbles by a connection does not swap the health
 * snapshot (and empty every DNS decision cache) once per report. The floor stays above 0: weight 0
 * means standby in the policies, and a full region that is healthy should still get some share.
 * @module
 */
import type { LoadCounters, LoadReport } from './types.js';

export interface LoadSettings {
  /** Utilisation (active / capacity) above which the effective weight is lowered. */
  threshold: number;
  /** Factor applied at 100 % utilisation and above, in (0, 1]. */
  floor: number;
}

export const LOAD_DEFAULTS: Readonly<LoadSettings> = Object.freeze({ threshold: 0.8, floor: 0.1 });

/** The quantisation step of the factor: 20 levels. */
const STEP = 0.05;

export interface RegionLoad {
  /** Sum of active connections over the region's live reports, divided by the sum of capacities. */
  utilisation: number;
  active: number;
  capacity: number;
  /** Live reports counted (forwarders of the region). */
  forwarders: number;
  /** Effective weight = configured × factor (weight 0 stays 0). */
  factor: number;
}

export function isLive(r: LoadReport, now: number): boolean {
  return r.at + r.ttlMs > now;
}

/** Utilisation and factor of one region from its reports; null when no live report (factor 1). */
export function regionLoad(reports: readonly LoadReport[], now: number, settings: LoadSettings): RegionLoad | null {
  let active = 0;
  let capacity = 0;
  let forwarders = 0;
  for (const r of reports) {
    if (!isLive(r, now)) continue;
    active += r.active;
    capacity += r.capacity;
    forwarders++;
  }
  if (forwarders === 0 || capacity <= 0) return null;
  const utilisation = active / capacity;
  return { utilisation, active, capacity, forwarders, factor: weightFactor(utilisation, settings) };
}

export function weightFactor(utilisation: number, { threshold, floor }: LoadSettings): number {
  if (!(utilisation > threshold)) return 1;
  if (threshold >= 1 || utilisation >= 1) return floor;
  const linear = 1 - ((utilisation - threshold) / (1 - threshold)) * (1 - floor);
  // Quantise downwards, never below the floor: a step only changes when the load really moved.
  return Math.max(floor, Math.floor(linear / STEP + 1e-9) * STEP);
}

/** Effective weight of a region: standby (0) stays standby, a weighted region keeps at least 1. */
export function effectiveWeight(configured: number, factor: number): number {
  if (configured <= 0 || factor >= 1) return configured;
  return Math.max(1, Math.round(configured * factor));
}

function counters(v: unknown): LoadCounters | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const n = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (!n(o.active) || !n(o.newPerSec) || !n(o.connectFailuresPerSec)) return null;
  return { active: o.active, newPerSec: o.newPerSec, connectFailuresPerSec: o.connectFailuresPerSec };
}

/** A report from JSON (or an object); null when anything is missing or out of range. */
export function parseLoadReport(json: unknown): LoadReport | null {
  let v: unknown = json;
  if (typeof json === 'string') {
    try {
      v = JSON.parse(json);
    } catch {
      return null;
    }
  }
  const c = counters(v);
  if (!c) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.region !== 'string' || typeof o.forwarder !== 'string') return null;
  if (typeof o.at !== 'number' || typeof o.ttlMs !== 'number' || o.ttlMs <= 0) return null;
  if (typeof o.capacity !== 'number' || !(o.capacity > 0)) return null;
  const backends: Record<string, LoadCounters> = {};
  if (typeof o.backends === 'object' && o.backends !== null) {
    for (const [k, b] of Object.entries(o.backends as Record<string, unknown>)) {
      const bc = counters(b);
      if (bc) backends[k] = bc;
    }
  }
  return { ...c, region: o.region, forwarder: o.forwarder, at: o.at, ttlMs: o.ttlMs, capacity: o.capacity, backends };
}
