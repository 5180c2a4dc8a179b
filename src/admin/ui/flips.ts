/**
 * Health flips for the dashboard's timeline: each tick compares every region's and endpoint's
 * state with the one seen before and keeps the changes, newest last, in a bounded ring. Flips are
 * seen from the moment the admin API starts; the first tick only records what there is.
 * @module
 */

export interface Flip {
  time: string;
  /** `region/<id>` or `endpoint/<region>/<id>`. */
  target: string;
  from: string;
  to: string;
  /** What decided the new state (probes, override, config, empty, cold). */
  source: string;
}

export interface Observed {
  target: string;
  state: string;
  source: string;
}

/** The newest flips kept: a timeline of the last hours of a busy cluster, a few tens of KB. */
export const FLIPS_KEPT = 200;

export class FlipLog {
  private last = new Map<string, string>();
  private readonly flips: Flip[] = [];
  private started = false;

  constructor(private readonly kept = FLIPS_KEPT) {}

  /** Records the states seen now; returns how many flipped since the previous call. */
  observe(seen: Iterable<Observed>, now: number): number {
    const next = new Map<string, string>();
    let flipped = 0;
    for (const o of seen) {
      next.set(o.target, o.state);
      const before = this.last.get(o.target);
      // A target seen for the first time is not a flip (a new region, or the first tick).
      if (!this.started || before === undefined || before === o.state) continue;
      this.flips.push({ time: new Date(now).toISOString(), target: o.target, from: before, to: o.state, source: o.source });
      flipped++;
    }
    if (this.flips.length > this.kept) this.flips.splice(0, this.flips.length - this.kept);
    this.last = next;
    this.started = true;
    return flipped;
  }

  /** Newest first. */
  recent(): Flip[] {
    return [...this.flips].reverse();
  }
}
