/**
 * The probe plane's aggregate, kept up to date in place: what `aggregate()` computes from scratch,
 * maintained per endpoint and per region, so that one probe flip costs the flipped endpoint (its
 * votes from the live vantages) and its region, whatever the size of the deployment.
 *
 * - Per endpoint: its verdict (same rules as aggregate.ts: quorum, overrides, cold start).
 * - Per region: up / counted counters, adjusted by the endpoint that changed (never recounted on a
 *   flip), its verdict, and its `RegionAnswer`: what answers depend on (state, addresses down,
 *   load factor). A RegionAnswer is immutable and replaced whole when it changes, so the regions
 *   whose answers changed are known exactly and only the services using them drop their decision
 *   caches (src/routing/by-region.ts).
 * - `recomputeAll` (a full read, overrides, config, heartbeat expiry) re-evaluates everything and
 *   reports what changed; it runs at the read cadence, never per flip.
 *
 * The object is also the live read view (`HealthView`) of `HealthSource.current`: reads are
 * synchronous map lookups, and every change bumps `version`.
 * @module
 */
import { activeOverrides, endpointVerdict, regionVerdict, type EndpointVerdict, type HealthView, type RegionInput, type RegionVerdict } from './aggregate.js';
import { effectiveWeight, regionLoad, type LoadSettings, type RegionLoad } from './load.js';
import type { RegionState } from './snapshot.js';
import type { EndpointKey, LoadReport, Override, VantageView } from './types.js';

export interface StateSettings {
  quorum: number;
  regionUpFraction: number;
  coldStart: 'up' | 'down';
  load: LoadSettings;
}

/** What a region's answers depend on. Immutable: replaced whole when any part changes. */
export interface RegionAnswer {
  readonly state: RegionState;
  /** Region addresses out of the answers: forced down in config, or whose address endpoint is down. */
  readonly downAddresses: ReadonlySet<string>;
  /** Effective-weight factor from load feedback (1 = configured weight). */
  readonly factor: number;
}

/**
 * What one recompute changed: `regions` are those whose RegionAnswer was replaced; `endpoints` those
 * whose verdict changed (status, votes or source), whether or not their region's answers did (one
 * endpoint of two down leaves the region answering; the flip log still reports it).
 */
export interface HealthChange {
  version: number;
  regions: ReadonlySet<string>;
  endpoints: ReadonlySet<EndpointKey>;
}

/** Work done, counted (tests compare it across deployment sizes; exported as metrics). */
export interface StateWork {
  /** Endpoint verdicts evaluated (each looks at every live vantage's view once). */
  endpointEvaluations: number;
  /** Region verdicts and answers evaluated. */
  regionEvaluations: number;
  /** Full recomputes (reads, overrides, config, heartbeat expiry). */
  fullRecomputes: number;
}

export interface FullInput {
  views: readonly VantageView[];
  overrides: readonly Override[];
  loads: readonly LoadReport[];
  now: number;
  /** A view votes while `heartbeatAt + heartbeatTtlMs > now`; absent = every view given votes. */
  heartbeatTtlMs?: number;
}

interface EndpointSlot {
  readonly key: EndpointKey;
  readonly region: RegionSlot;
  /** The region address this endpoint checks (an address endpoint), if any. */
  readonly front: string | undefined;
  verdict: EndpointVerdict;
}

interface RegionSlot {
  readonly input: RegionInput;
  readonly endpoints: EndpointSlot[];
  readonly fronts: EndpointSlot[];
  up: number;
  counted: number;
  verdict: RegionVerdict;
  /** null until the first evaluation (a new region always counts as changed). */
  answer: RegionAnswer | null;
  load: RegionLoad | null;
}

const COLD_VERDICT: EndpointVerdict = Object.freeze({ status: 'up', up: 0, down: 0, live: 0, source: 'cold' });

export class HealthState implements HealthView {
  /** 0 until the first recomputeAll, which always changes something (every region is new). */
  private v = 0;
  private settings: StateSettings;
  private slots = new Map<string, RegionSlot>();
  private endpointSlots = new Map<EndpointKey, EndpointSlot>();
  /** Regions of the previous config that the current one dropped: reported once as changed. */
  private dropped = new Set<string>();
  private live: readonly VantageView[] = [];
  private overrides = new Map<string, Override>();
  readonly work: StateWork = { endpointEvaluations: 0, regionEvaluations: 0, fullRecomputes: 0 };

  constructor(regions: readonly RegionInput[], settings: StateSettings) {
    this.settings = settings;
    this.configure(regions, settings);
  }

  get version(): number {
    return this.v;
  }

  /** New regions or thresholds; a `recomputeAll` must follow (the source does it at once). */
  configure(regions: readonly RegionInput[], settings: StateSettings): void {
    this.settings = settings;
    const previous = this.slots;
    const previousEndpoints = this.endpointSlots;
    this.slots = new Map();
    this.endpointSlots = new Map();
    for (const input of regions) {
      const old = previous.get(input.id);
      const slot: RegionSlot = {
        input,
        endpoints: [],
        fronts: [],
        up: 0,
        counted: 0,
        verdict: old?.verdict ?? { state: 'up', up: 0, counted: 0, source: 'empty' },
        answer: old?.answer ?? null,
        load: old?.load ?? null,
      };
      for (const key of input.endpoints) {
        const front = input.addressEndpoints?.[key];
        const e: EndpointSlot = { key, region: slot, front, verdict: previousEndpoints.get(key)?.verdict ?? COLD_VERDICT };
        slot.endpoints.push(e);
        if (front !== undefined) slot.fronts.push(e);
        this.endpointSlots.set(key, e);
      }
      this.slots.set(input.id, slot);
    }
    for (const id of previous.keys()) if (!this.slots.has(id)) this.dropped.add(id);
  }

  /** Everything again from the given views, overrides and loads; null when nothing visible changed. */
  recomputeAll(input: FullInput): HealthChange | null {
    this.work.fullRecomputes++;
    const ttl = input.heartbeatTtlMs;
    const live = input.views.filter((view) => ttl === undefined || view.heartbeatAt + ttl > input.now);
    let visible = !sameVantages(this.live, live);
    this.live = live;
    this.overrides = activeOverrides(input.overrides, input.now);
    const loads = groupByRegion(input.loads);
    const changed = new Set(this.dropped);
    const endpoints = new Set<EndpointKey>();
    this.dropped.clear();
    for (const slot of this.slots.values()) {
      slot.up = 0;
      slot.counted = 0;
      for (const e of slot.endpoints) {
        if (this.evaluateEndpoint(e)) {
          visible = true;
          endpoints.add(e.key);
        }
        this.count(slot, e.verdict, 1);
      }
      slot.load = regionLoad(loads.get(slot.input.id) ?? [], input.now, this.settings.load);
      const r = this.evaluateRegion(slot);
      if (r.answer) changed.add(slot.input.id);
      visible ||= r.verdict || r.answer;
    }
    return this.changed(visible || changed.size > 0, changed, endpoints);
  }

  /**
   * One endpoint's observation changed in a view already cached (a `change` event): re-evaluates
   * that endpoint from the live views and, if its verdict changed, its region. Votes of a view that
   * is not live (expired, or not read yet) do not count, as in a full recompute.
   */
  recomputeEndpoint(key: EndpointKey): HealthChange | null {
    const e = this.endpointSlots.get(key);
    if (!e) return null;
    const before = e.verdict;
    if (!this.evaluateEndpoint(e)) return null;
    const slot = e.region;
    this.count(slot, before, -1);
    this.count(slot, e.verdict, 1);
    const r = this.evaluateRegion(slot);
    return this.changed(true, r.answer ? new Set([slot.input.id]) : new Set(), new Set([key]));
  }

  /** A region's load reports changed (a `load` notice): its factor and utilisation only. */
  recomputeLoad(regionId: string, reports: readonly LoadReport[], now: number): HealthChange | null {
    const slot = this.slots.get(regionId);
    if (!slot) return null;
    slot.load = regionLoad(reports, now, this.settings.load);
    const r = this.evaluateRegion(slot);
    // Utilisation alone is not a change: a load that moves within one factor step changes no answer.
    return r.answer ? this.changed(true, new Set([regionId]), new Set()) : null;
  }

  /** The immutable answer record of a region (tests, and services that want the object itself). */
  answerOf(regionId: string): RegionAnswer | undefined {
    return this.slots.get(regionId)?.answer ?? undefined;
  }

  region(id: string): RegionState {
    return this.slots.get(id)?.answer?.state ?? 'up';
  }

  addressUp(regionId: string, address: string): boolean {
    return !this.slots.get(regionId)?.answer?.downAddresses.has(address);
  }

  effectiveWeight(regionId: string, configured: number): number {
    const factor = this.slots.get(regionId)?.answer?.factor ?? 1;
    return effectiveWeight(configured, factor);
  }

  regionLoad(id: string): RegionLoad | undefined {
    return this.slots.get(id)?.load ?? undefined;
  }

  endpoint(key: EndpointKey): EndpointVerdict | undefined {
    return this.endpointSlots.get(key)?.verdict;
  }

  regionVerdict(id: string): RegionVerdict | undefined {
    return this.slots.get(id)?.verdict;
  }

  *endpoints(): IterableIterator<[EndpointKey, EndpointVerdict]> {
    for (const [key, e] of this.endpointSlots) yield [key, e.verdict];
  }

  *regions(): IterableIterator<[string, RegionVerdict]> {
    for (const [id, slot] of this.slots) yield [id, slot.verdict];
  }

  get vantages(): { vantage: string; region: string | null }[] {
    return this.live.map((v) => ({ vantage: v.vantage, region: v.region }));
  }

  get liveVantages(): number {
    return this.live.length;
  }

  private changed(visible: boolean, regions: Set<string>, endpoints: Set<EndpointKey>): HealthChange | null {
    if (!visible) return null;
    this.v++;
    return { version: this.v, regions, endpoints };
  }

  private count(slot: RegionSlot, v: EndpointVerdict, sign: 1 | -1): void {
    if (v.status === 'drained') return;
    slot.counted += sign;
    if (v.status === 'up') slot.up += sign;
  }

  /** True when the endpoint's verdict (status, votes or source) changed. */
  private evaluateEndpoint(e: EndpointSlot): boolean {
    this.work.endpointEvaluations++;
    const next = endpointVerdict(e.key, this.live, this.overrides, this.settings.quorum, this.settings.coldStart);
    if (sameEndpoint(e.verdict, next)) return false;
    e.verdict = next;
    return true;
  }

  private evaluateRegion(slot: RegionSlot): { verdict: boolean; answer: boolean } {
    this.work.regionEvaluations++;
    const verdict = regionVerdict(slot.input, slot.up, slot.counted, this.overrides, this.settings.regionUpFraction);
    const down = new Set(slot.input.downAddresses ?? []);
    for (const e of slot.fronts) if (e.verdict.status === 'down') down.add(e.front!);
    const answer: RegionAnswer = { state: verdict.state, downAddresses: down, factor: slot.load?.factor ?? 1 };
    const verdictChanged = !sameRegion(slot.verdict, verdict);
    if (verdictChanged) slot.verdict = verdict;
    const answerChanged = slot.answer === null || !sameAnswer(slot.answer, answer);
    if (answerChanged) slot.answer = answer;
    return { verdict: verdictChanged, answer: answerChanged };
  }
}

function groupByRegion(loads: readonly LoadReport[]): Map<string, LoadReport[]> {
  const out = new Map<string, LoadReport[]>();
  for (const r of loads) {
    const list = out.get(r.region);
    if (list) list.push(r);
    else out.set(r.region, [r]);
  }
  return out;
}

function sameEndpoint(a: EndpointVerdict, b: EndpointVerdict): boolean {
  return a.status === b.status && a.up === b.up && a.down === b.down && a.live === b.live && a.source === b.source;
}

function sameRegion(a: RegionVerdict, b: RegionVerdict): boolean {
  return a.state === b.state && a.up === b.up && a.counted === b.counted && a.source === b.source;
}

function sameAnswer(a: RegionAnswer, b: RegionAnswer): boolean {
  if (a.state !== b.state || a.factor !== b.factor || a.downAddresses.size !== b.downAddresses.size) return false;
  for (const x of a.downAddresses) if (!b.downAddresses.has(x)) return false;
  return true;
}

function sameVantages(a: readonly VantageView[], b: readonly VantageView[]): boolean {
  if (a.length !== b.length) return false;
  const key = (v: VantageView): string => `${v.vantage}@${v.region ?? ''}`;
  const seen = new Set(a.map(key));
  return b.every((v) => seen.has(key(v)));
}
