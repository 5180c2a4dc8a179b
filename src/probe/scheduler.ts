/**
 * Runs every target's check at its interval, with jitter and a bound on concurrent checks, feeds
 * results through each target's rise/fall Threshold and reports observations. Each target has its
 * own timer, so a hung endpoint only ever occupies its own slot, and only until its timeout: the
 * scheduler enforces the timeout itself (abort + race), not trusting the check to honour it.
 * @module
 */
import type { EndpointObservation } from '../health/types.js';
import { abortReason, describeError } from './attempt.js';
import { runCheck as runHttp } from './http.js';
import { runCheck as runTcp } from './tcp.js';
import { Threshold, type Status } from './threshold.js';
import { DEFAULT_PROBE, type CheckResult, type CheckRunner, type ProbeTarget } from './types.js';

/** The built-in checks, by type. */
export const runTargetCheck: CheckRunner = (target, signal) => (target.check.type === 'tcp' ? runTcp(target, signal) : runHttp(target, signal));

export interface ProbeSchedulerOptions {
  /** After every check: the endpoint's observation, and whether its status changed (incl. the first verdict). */
  onObservation: (key: string, observation: EndpointObservation, changed: boolean) => void;
  /** Metrics hook, after every check (latency histogram by result). */
  onCheck?: (key: string, ok: boolean, rttMs: number, error: string | null) => void;
  /** An up/down flip (not the first verdict out of unknown): meridian_probe_flips_total. */
  onFlip?: (key: string, from: Status, to: Status) => void;
  /** Checks in flight at once (default 64). */
  concurrency?: number;
  /** ± fraction of the interval added at random to each run (default 0.1). */
  jitter?: number;
  /** Wall clock for observation timestamps (default Date.now). */
  now?: () => number;
  /** [0, 1) (default Math.random); inject for a deterministic schedule. */
  random?: () => number;
  /** The check implementation (default runTargetCheck); tests inject fakes. */
  runCheck?: CheckRunner;
  /** Timer functions (default the globals); tests inject a fake clock for an exact schedule. */
  timers?: Timers;
  /** Status to resume from for a new key (e.g. this vantage's last published view), else unknown. */
  initial?: (key: string) => { status: Status; since: number } | undefined;
}

export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

export interface SchedulerStats {
  targets: number;
  inFlight: number;
  queued: number;
  checks: number;
  failures: number;
  timeouts: number;
}

interface Entry {
  target: ProbeTarget;
  threshold: Threshold;
  since: number;
  lastRtt: number | null;
  observation: EndpointObservation | null;
  timer: unknown;
  inflight: AbortController | null;
  /** When the current run became due (scheduler clock); the next is due one interval later. */
  dueAt: number;
  /** False once removed, replaced or stopped: a late result is then dropped. */
  live: boolean;
}

export class ProbeScheduler {
  private readonly entries = new Map<string, Entry>();
  private queue: Entry[] = [];
  private active = 0;
  private running = false;
  /** Bumped by stop(): a check launched before a stop() is never recorded after a quick restart. */
  private epoch = 0;
  private readonly settling = new Set<Promise<void>>();
  private readonly counts = { checks: 0, failures: 0, timeouts: 0 };
  private concurrency: number;
  private jitter: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly runner: CheckRunner;
  private readonly timers: Timers;

  constructor(
    targets: ProbeTarget[],
    private readonly opts: ProbeSchedulerOptions,
  ) {
    this.concurrency = DEFAULT_PROBE.concurrency;
    this.jitter = DEFAULT_PROBE.jitter;
    this.setLimits(opts.concurrency ?? DEFAULT_PROBE.concurrency, opts.jitter ?? DEFAULT_PROBE.jitter);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.runner = opts.runCheck ?? runTargetCheck;
    this.timers = opts.timers ?? realTimers;
    this.updateTargets(targets);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // The first run of each target lands anywhere in its first interval, so N targets added
    // together (boot, a config push) don't stampede the network and the slots at once.
    for (const e of this.entries.values()) this.arm(e, this.random() * e.target.timing.intervalMs);
  }

  /** Stops scheduling, aborts checks in flight (their results are dropped) and waits for them to settle. */
  async stop(): Promise<void> {
    this.running = false;
    this.epoch++;
    this.queue = [];
    for (const e of this.entries.values()) this.disarm(e, 'stopped', false);
    await Promise.allSettled([...this.settling]);
  }

  /**
   * Changes the concurrency bound and the jitter (a reload). Checks in flight finish; a higher
   * bound starts queued runs at once; the jitter applies from each target's next run. Throws on a
   * bad value, changing nothing.
   */
  setLimits(concurrency: number, jitter: number): void {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('probe: concurrency must be an integer >= 1');
    if (!(jitter >= 0 && jitter < 1)) throw new Error('probe: jitter must be in [0, 1)');
    this.concurrency = concurrency;
    this.jitter = jitter;
    this.pump();
  }

  /**
   * Replaces the target set. Unchanged targets keep their state and schedule; a changed target
   * (same key, different check, address or timing) keeps its status but starts a new schedule;
   * new keys start unknown (or from `initial`). Throws on duplicate keys, changing nothing.
   */
  updateTargets(targets: ProbeTarget[]): { added: string[]; changed: string[]; removed: string[] } {
    const next = new Map<string, ProbeTarget>();
    for (const t of targets) {
      if (next.has(t.key)) throw new Error(`probe: duplicate target key "${t.key}"`);
      new Threshold(t.timing); // validates rise/fall before anything is touched
      next.set(t.key, t);
    }
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    for (const [key, e] of this.entries) {
      if (next.has(key)) continue;
      this.disarm(e, 'removed', true);
      this.entries.delete(key);
      removed.push(key);
    }
    for (const [key, t] of next) {
      const old = this.entries.get(key);
      if (old && sameTarget(old.target, t)) continue;
      const e = old ? this.carryOver(old, t) : this.fresh(t);
      if (old) {
        this.disarm(old, 'replaced', true);
        changed.push(key);
      } else {
        added.push(key);
      }
      this.entries.set(key, e);
      if (this.running) this.arm(e, this.random() * t.timing.intervalMs);
    }
    return { added, changed, removed };
  }

  /** The latest observation of every target that has one (for writing the whole view). */
  observations(): Map<string, EndpointObservation> {
    const out = new Map<string, EndpointObservation>();
    for (const [key, e] of this.entries) if (e.observation) out.set(key, e.observation);
    return out;
  }

  stats(): SchedulerStats {
    return { targets: this.entries.size, inFlight: this.active, queued: this.queue.length, ...this.counts };
  }

  private fresh(t: ProbeTarget): Entry {
    const init = this.opts.initial?.(t.key);
    const threshold = new Threshold({ rise: t.timing.rise, fall: t.timing.fall, initial: init?.status ?? 'unknown' });
    return { target: t, threshold, since: init?.since ?? this.now(), lastRtt: null, observation: null, timer: null, inflight: null, dueAt: 0, live: true };
  }

  /** A redefined target keeps its verdict: editing a check's path must not make it flap. */
  private carryOver(old: Entry, t: ProbeTarget): Entry {
    const status = old.threshold.status;
    const threshold = new Threshold({ rise: t.timing.rise, fall: t.timing.fall, initial: status });
    return { ...old, target: t, threshold, timer: null, inflight: null, live: true };
  }

  private arm(e: Entry, delayMs: number): void {
    e.timer = this.timers.setTimeout(() => {
      e.timer = null;
      e.dueAt = this.now();
      this.enqueue(e);
    }, delayMs);
  }

  private disarm(e: Entry, reason: string, dead: boolean): void {
    if (dead) e.live = false;
    if (e.timer !== null) this.timers.clearTimeout(e.timer);
    e.timer = null;
    this.queue = this.queue.filter((q) => q !== e);
    e.inflight?.abort(new Error(reason));
  }

  private enqueue(e: Entry): void {
    if (!e.live || !this.running) return;
    if (this.active < this.concurrency) this.launch(e);
    else this.queue.push(e);
  }

  private pump(): void {
    while (this.running && this.active < this.concurrency && this.queue.length > 0) {
      const e = this.queue.shift()!;
      if (e.live) this.launch(e);
    }
  }

  private launch(e: Entry): void {
    this.active++;
    const ac = new AbortController();
    e.inflight = ac;
    const p: Promise<void> = this.execute(e, ac).finally(() => {
      this.active--;
      if (e.inflight === ac) e.inflight = null;
      this.settling.delete(p);
      this.pump();
    });
    this.settling.add(p);
  }

  private async execute(e: Entry, ac: AbortController): Promise<void> {
    const { key, timing } = e.target;
    const epoch = this.epoch;
    // The scheduler's own deadline, and any abort (stop, removal), settle the run at once: even a
    // check that ignores its signal frees its slot on time and can't hold up stop().
    const aborted = new Promise<CheckResult>((resolve) => {
      ac.signal.addEventListener('abort', () => resolve({ ok: false, rttMs: timing.timeoutMs, error: abortReason(ac.signal) }), { once: true });
    });
    const timer = this.timers.setTimeout(() => ac.abort(new Error('timeout')), timing.timeoutMs);
    let result: CheckResult;
    try {
      result = await Promise.race([this.runner(e.target, ac.signal), aborted]);
    } catch (err) {
      result = { ok: false, rttMs: 0, error: describeError(err) }; // an injected runner broke its contract
    } finally {
      this.timers.clearTimeout(timer);
    }
    if (!e.live || !this.running || epoch !== this.epoch) return;
    this.record(e, key, result);
    const interval = timing.intervalMs;
    const jittered = interval * (1 + this.jitter * (2 * this.random() - 1));
    // Due one interval after this run was due (not after it ended), so slow checks don't stretch
    // the period; clamped, so a clock jump can neither fire a burst nor stall the target.
    this.arm(e, Math.min(Math.max(e.dueAt + jittered - this.now(), 0), interval * (1 + this.jitter)));
  }

  private record(e: Entry, key: string, result: CheckResult): void {
    const t = this.now();
    this.counts.checks++;
    if (!result.ok) this.counts.failures++;
    if (result.error === 'timeout') this.counts.timeouts++;
    const step = e.threshold.record(result.ok, t);
    if (step.changed) e.since = t;
    if (result.ok) e.lastRtt = result.rttMs;
    const observation: EndpointObservation = { status: step.status, since: e.since, checkedAt: t, rttMs: e.lastRtt, error: result.ok ? null : result.error };
    e.observation = observation;
    guard(() => this.opts.onCheck?.(key, result.ok, result.rttMs, result.error));
    if (step.changed && step.previous !== 'unknown') {
      const from = step.previous;
      guard(() => this.opts.onFlip?.(key, from, step.status));
    }
    guard(() => this.opts.onObservation(key, observation, step.changed));
  }
}

/** A throwing callback must not stop the schedule; it is surfaced as a process warning. */
function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.emitWarning(`probe: callback threw: ${describeError(err)}`);
  }
}

function sameTarget(a: ProbeTarget, b: ProbeTarget): boolean {
  return a.address === b.address && a.port === b.port && canonical(a.check) === canonical(b.check) && canonical(a.timing) === canonical(b.timing);
}

/** JSON with sorted keys, so two equal specs built in different key orders compare equal. */
function canonical(o: object): string {
  return JSON.stringify(o, Object.keys(o).sort());
}
