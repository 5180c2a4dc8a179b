/**
 * A budget of log lines for an event a flood can repeat without bound: at most `perWindow` lines
 * in a window of `windowMs`; past it lines are counted, not written, and one summary line says how
 * many when the window ends. RRL's "rate limiting this netblock" is one: each limited netblock is
 * logged once per period, so a spoofed flood from many netblocks wrote one line per netblock, a
 * log flood of its own (a fresh-eyes review of issue 16).
 * @module
 */

export class LogBudget {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    /** Called once at the end of a window in which lines were left out, with how many. */
    private readonly summary: (suppressed: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when one more line may be written now; false counts it as left out. */
  take(): boolean {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used < this.perWindow) {
      this.used++;
      return true;
    }
    // The summary is due when the window ends, flood or no flood; the timer never keeps a process up.
    if (this.suppressed++ === 0) this.timer = setTimeout(() => this.flush(), this.windowStart + this.windowMs - now).unref();
    return false;
  }

  /** Writes the summary of the lines left out so far, if any (a role stopping calls it too). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.suppressed > 0) this.summary(this.suppressed);
    this.suppressed = 0;
  }
}
