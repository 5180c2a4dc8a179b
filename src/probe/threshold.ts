/**
 * Rise/fall hysteresis for one endpoint as seen by one vantage: a pure state machine (no clock, no
 * I/O; `now` is passed in). Semantics, as HAProxy's rise/fall:
 *  - `up` turns `down` after `fall` consecutive failures; any success resets the count.
 *  - `down` turns `up` after `rise` consecutive successes; any failure resets the count.
 *  - `unknown` (nothing seen yet) takes the first result's verdict. Why not wait for rise/fall?
 *    An endpoint whose results alternate would then stay unknown forever, and a restarted probe
 *    would publish nothing for up to max(rise, fall) intervals. Quorum across vantages (aggregate)
 *    absorbs one vantage's unlucky first result; a caller that knows the last published status
 *    passes it as `initial` and keeps full hysteresis across restarts.
 * Unlike gdnsd, failures are not accumulated across successes (gdnsd's ok_thresh): an endpoint
 * that fails every other check stays up. Partial failure is the forwarder's passive health's job;
 * the probe answers "is it reachable and serving", and must not flap doing so.
 * @module
 */

export type Status = 'up' | 'down';
export type InitialStatus = Status | 'unknown';

export interface ThresholdOptions {
  rise: number;
  fall: number;
  initial?: InitialStatus;
}

export interface ThresholdStep {
  status: Status;
  /** The status differs from before this result (including the first verdict out of `unknown`). */
  changed: boolean;
  /** Status before this result; a flip is `changed && previous !== 'unknown'`. */
  previous: InitialStatus;
  /** When the status last changed (the `now` of that record call), or null if never. */
  since: number | null;
}

export class Threshold {
  readonly rise: number;
  readonly fall: number;
  private current: InitialStatus;
  /** Consecutive results that disagree with `current`. */
  private against = 0;
  private changedAt: number | null = null;

  constructor(opts: ThresholdOptions) {
    if (!Number.isInteger(opts.rise) || opts.rise < 1) throw new Error(`threshold: rise must be an integer >= 1 (got ${opts.rise})`);
    if (!Number.isInteger(opts.fall) || opts.fall < 1) throw new Error(`threshold: fall must be an integer >= 1 (got ${opts.fall})`);
    this.rise = opts.rise;
    this.fall = opts.fall;
    this.current = opts.initial ?? 'unknown';
  }

  get status(): InitialStatus {
    return this.current;
  }

  /** Consecutive results so far against the current status (progress towards a flip). */
  get streak(): number {
    return this.against;
  }

  get since(): number | null {
    return this.changedAt;
  }

  record(ok: boolean, now: number): ThresholdStep {
    const previous = this.current;
    const agrees = (ok && previous === 'up') || (!ok && previous === 'down');
    if (agrees) {
      this.against = 0;
    } else {
      this.against++;
      const needed = ok ? this.rise : this.fall;
      if (previous === 'unknown' || this.against >= needed) {
        this.current = ok ? 'up' : 'down';
        this.against = 0;
        this.changedAt = now;
      }
    }
    return { status: this.current as Status, changed: this.current !== previous, previous, since: this.changedAt };
  }
}
