/**
 * Drain: stop accepting new connections, let the open ones finish up to a deadline, then close
 * whatever remains and report how many that was. Triggered by SIGTERM (`meridian forward`), by a
 * `drained` override or config state of the forwarder's region (reversible: clearing it accepts
 * again), or by a library caller (`forwarder.drain(ms)`).
 *
 * Waiting is event-driven (each closing connection checks) with one timer for the deadline and a
 * progress log line per second, so a drain costs nothing per connection.
 * @module
 */
import type { Logger } from '../obs/log.js';
import type { ForwarderState } from './state.js';

export interface DrainResult {
  /** Connections still open at the deadline (closed then). 0 = everything finished by itself. */
  remaining: number;
  elapsedMs: number;
  /** The drain was lifted before its end: `remaining` connections were left open, not closed. */
  cancelled?: boolean;
}

export interface DrainHooks {
  stopAccepting(): Promise<void>;
  resumeAccepting(): Promise<void>;
}

export class DrainController {
  private current: Promise<DrainResult> | null = null;
  private wake: (() => void) | null = null;
  private cancelled = false;
  /** The last finished drain, for metrics and the final log line. */
  last: DrainResult | null = null;
  cause: 'override' | 'shutdown' | 'caller' | null = null;

  constructor(
    private readonly state: ForwarderState,
    private readonly hooks: DrainHooks,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get draining(): boolean {
    return this.current !== null;
  }

  /** Connections open now while draining, else 0 (`meridian_forward_drain_remaining_connections`). */
  get remaining(): number {
    return this.current ? this.state.active : 0;
  }

  /**
   * Starts a drain, or joins the one running (a second request cannot extend the first's deadline,
   * but a shutdown takes over an override drain so that resume() no longer undoes it).
   */
  drain(deadlineMs: number, cause: 'override' | 'shutdown' | 'caller' = 'caller'): Promise<DrainResult> {
    if (cause === 'shutdown' || this.cause === null) this.cause = cause;
    this.current ??= this.run(deadlineMs);
    return this.current;
  }

  /** Ends an override drain (the override was cleared): accept again. Shutdown drains are final. */
  async resume(): Promise<void> {
    if (this.cause !== 'override' || !this.current) return;
    // Lifted before the deadline: stop waiting, and leave the open connections alone.
    this.cancelled = true;
    this.wake?.();
    await this.current;
    this.cancelled = false;
    if (this.cause !== 'override') return;
    this.cause = null;
    this.current = null;
    await this.hooks.resumeAccepting();
    this.log?.info('drain lifted: accepting connections again');
  }

  /** Called when a connection closes, so the wait ends the moment the last one goes. */
  notify(): void {
    if (this.wake && this.state.active === 0) this.wake();
  }

  private async run(deadlineMs: number): Promise<DrainResult> {
    const t0 = this.now();
    await this.hooks.stopAccepting();
    this.log?.info({ open: this.state.active, deadlineMs }, 'draining: not accepting new connections');
    if (this.state.active > 0 && !this.cancelled) {
      await new Promise<void>((resolve) => {
        const progress = setInterval(() => this.log?.info({ remaining: this.state.active }, 'draining'), 1_000);
        const deadline = setTimeout(finish, deadlineMs);
        progress.unref();
        function finish(): void {
          clearInterval(progress);
          clearTimeout(deadline);
          resolve();
        }
        this.wake = finish;
      });
      this.wake = null;
    }
    const remaining = this.state.active;
    if (this.cancelled) {
      const result = { remaining, elapsedMs: this.now() - t0, cancelled: true };
      this.log?.info(result, 'drain lifted before its deadline; open connections continue');
      return result;
    }
    for (const c of [...this.state.conns]) {
      if (c.relay) c.relay.abort();
      else c.client.destroy();
      c.pending?.destroy();
    }
    const result = { remaining, elapsedMs: this.now() - t0 };
    this.last = result;
    this.log?.[remaining ? 'warn' : 'info'](result, remaining ? 'drain deadline reached: closed the connections that remained' : 'drained: every connection finished');
    return result;
  }
}
