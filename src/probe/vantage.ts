/**
 * One vantage point: runs the probe scheduler over every endpoint and publishes what it sees on
 * the health bus — each status change at once, and a heartbeat every heartbeatTtl/3 (two missed
 * beats are tolerated): the heartbeat alone, and the whole view at start, on a new config and every
 * FULL_VIEW_EVERY beats. Used by `meridian probe --region R` (Redis bus) and
 * in-process by `meridian serve` in embedded mode (memory bus): the same code in both.
 * @module
 */
import type { HealthBus, VantageView } from '../health/types.js';
import type { Logger } from '../obs/log.js';
import type { TargetPolicy } from '../config/targets.js';
import { guardedRunner } from './guard.js';
import { ProbeScheduler, runTargetCheck, type ProbeSchedulerOptions } from './scheduler.js';
import { DEFAULT_PROBE, type ProbeTarget } from './types.js';

/** What a config gives a vantage; a reload or a new store version applies it whole (`apply`). */
export interface VantageSettings {
  targets: ProbeTarget[];
  heartbeatTtlMs: number;
  concurrency?: number;
  jitter?: number;
  /** health.targets: checks to an address it refuses fail as `denied` and never connect. */
  targetPolicy?: TargetPolicy;
}

export interface VantageOptions extends VantageSettings {
  vantage: string;
  region: string | null;
  bus: HealthBus;
  log?: Logger;
  /** Metrics hooks, passed to the scheduler. */
  onCheck?: ProbeSchedulerOptions['onCheck'];
  onFlip?: ProbeSchedulerOptions['onFlip'];
  /** A check refused by the target policy (metrics); also logged once per endpoint and rule. */
  onDenied?: (key: string, rule: string) => void;
  /** The check implementation (tests simulate a partitioned vantage with it). */
  runCheck?: ProbeSchedulerOptions['runCheck'];
  now?: () => number;
  /** How long start() waits for a bus that is still connecting (default 5 s). */
  connectWaitMs?: number;
}

const CONNECT_WAIT_MS = 5_000;
/** Every this many heartbeats the whole view is written (once a minute at the default 5 s beat). */
export const FULL_VIEW_EVERY = 12;

/** Resolves once the bus is connected (its `resync` event), or after `ms` whatever its state. */
function connectedOrTimeout(bus: HealthBus, ms: number): Promise<void> {
  if (bus.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unsubscribe = bus.subscribe((e) => {
      if (e.kind === 'resync') done();
    });
  });
}

export class Vantage {
  readonly scheduler: ProbeScheduler;
  private beatTimer: NodeJS.Timeout | null = null;
  private beats = 0;
  private started = false;
  private readonly now: () => number;
  private publishFailures = 0;
  private readonly publishStats = { failures: 0, lastAt: 0, lastFailed: false };
  /** Statuses this vantage published before a restart: the thresholds resume from them. */
  private readonly previous = new Map<string, { status: 'up' | 'down'; since: number }>();
  private policy: TargetPolicy | undefined;
  private readonly deniedLogged = new Set<string>();

  constructor(private readonly opts: VantageOptions) {
    this.now = opts.now ?? Date.now;
    this.policy = opts.targetPolicy;
    // Targets are added in start(), once the statuses published before a restart are known.
    this.scheduler = new ProbeScheduler([], {
      onObservation: (key, observation, changed) => {
        if (!changed) return; // unchanged results travel with the next heartbeat
        this.opts.bus.publishChange(this.opts.vantage, key, observation).catch(() => this.writeView());
      },
      ...(opts.onCheck ? { onCheck: opts.onCheck } : {}),
      ...(opts.onFlip ? { onFlip: opts.onFlip } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.jitter !== undefined ? { jitter: opts.jitter } : {}),
      runCheck: guardedRunner(
        opts.runCheck ?? runTargetCheck,
        () => this.policy,
        (key, rule) => this.denied(key, rule),
      ),
      initial: (key) => this.previous.get(key),
      now: this.now,
    });
  }

  private denied(key: string, rule: string): void {
    this.opts.onDenied?.(key, rule);
    if (this.deniedLogged.has(`${key} ${rule}`)) return;
    this.deniedLogged.add(`${key} ${rule}`);
    this.opts.log?.warn({ code: 'MERIDIAN_ERR_TARGET_DENIED', endpoint: key, rule }, 'health check refused by health.targets; it will not connect');
  }

  view(): VantageView {
    return { vantage: this.opts.vantage, region: this.opts.region, heartbeatAt: this.now(), endpoints: this.scheduler.observations() };
  }

  /** Writes the whole view; failures (Redis away) are logged once per outage and retried at the next beat. */
  writeView(): Promise<void> {
    return this.published(this.opts.bus.writeView(this.view(), this.opts.heartbeatTtlMs));
  }

  /**
   * One heartbeat. The view itself changes only by the changes already published, so most beats
   * refresh the heartbeat alone (`bus.beat`: no DNS node re-reads anything); every
   * `FULL_VIEW_EVERY`th beat writes the whole view, which also refreshes the check times and RTTs of
   * unchanged endpoints, and so does a beat that finds no view (expired while Redis was away).
   */
  private heartbeat(): Promise<void> {
    if (++this.beats % FULL_VIEW_EVERY === 0) return this.writeView();
    const { vantage, region, heartbeatTtlMs } = this.opts;
    return this.published(this.opts.bus.beat(vantage, region, this.now(), heartbeatTtlMs).then((ok) => (ok ? undefined : this.opts.bus.writeView(this.view(), heartbeatTtlMs))));
  }

  private published(write: Promise<void>): Promise<void> {
    return write.then(
      () => {
        if (this.publishFailures > 0) this.opts.log?.info({ vantage: this.opts.vantage }, 'health bus reachable again; view published');
        this.publishFailures = 0;
        this.publishStats.lastAt = this.now();
        this.publishStats.lastFailed = false;
      },
      (err: unknown) => {
        this.publishStats.failures++;
        this.publishStats.lastFailed = true;
        if (this.publishFailures++ === 0) this.opts.log?.warn({ vantage: this.opts.vantage, err: String(err) }, 'cannot publish the probe view; retrying at each heartbeat');
      },
    );
  }

  /**
   * Heartbeats and views published to the bus: failed attempts since start, when the last one
   * succeeded (epoch ms, 0: never) and whether the latest attempt failed (metrics, /readyz).
   */
  get publishes(): Readonly<{ failures: number; lastAt: number; lastFailed: boolean }> {
    return this.publishStats;
  }

  async start(): Promise<void> {
    // A bus still connecting would refuse the first read and write at once (no offline queue): wait
    // for it, a little, so a normal start neither warns "cannot publish" nor loses the statuses
    // published before a restart. A bus that stays away is what the warning is for.
    await connectedOrTimeout(this.opts.bus, this.opts.connectWaitMs ?? CONNECT_WAIT_MS);
    // A restarted probe resumes from what it last published, so one failed check after a restart
    // cannot flip an endpoint that `fall` failures would be needed to flip otherwise.
    try {
      const mine = (await this.opts.bus.readViews()).find((v) => v.vantage === this.opts.vantage);
      for (const [key, o] of mine?.endpoints ?? []) this.previous.set(key, { status: o.status, since: o.since });
    } catch {
      // No bus yet: start from unknown, as a fresh vantage does.
    }
    this.started = true;
    this.scheduler.updateTargets(this.opts.targets);
    // The view exists (with a heartbeat) before the first change is published into it.
    await this.writeView();
    this.scheduler.start();
    this.beat();
  }

  /**
   * Applies a config's settings: the target set (unchanged targets keep their state and schedule),
   * the concurrency bound, the jitter and the heartbeat period. Before start() it only records them.
   * The values come validated by the config loader (the scheduler throws on duplicate keys or a
   * concurrency below 1).
   */
  apply(settings: VantageSettings): void {
    const { targets, heartbeatTtlMs, concurrency, jitter } = settings;
    this.policy = settings.targetPolicy;
    if (this.started) {
      this.scheduler.setLimits(concurrency ?? DEFAULT_PROBE.concurrency, jitter ?? DEFAULT_PROBE.jitter);
      this.scheduler.updateTargets(targets);
    }
    const beatChanged = heartbeatTtlMs !== this.opts.heartbeatTtlMs;
    Object.assign(this.opts, { targets, heartbeatTtlMs, concurrency, jitter });
    if (!this.started) return;
    if (beatChanged && this.beatTimer) this.beat();
    // The view loses removed endpoints now, not at the next heartbeat.
    void this.writeView();
  }

  /** (Re)starts the heartbeat: every heartbeatTtl/3, so two lost beats are tolerated. */
  private beat(): void {
    if (this.beatTimer) clearInterval(this.beatTimer);
    this.beatTimer = setInterval(() => void this.heartbeat(), Math.max(100, Math.floor(this.opts.heartbeatTtlMs / 3)));
    this.beatTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.beatTimer) clearInterval(this.beatTimer);
    this.beatTimer = null;
    await this.scheduler.stop();
  }
}
