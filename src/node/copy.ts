/**
 * Keeps a DNS node's local copy (src/store/local-copy.ts) current with what lives beside the config
 * version: the store's tokens and newest audit entries, and the overrides in force. The follower
 * writes the version itself; this refreshes the rest on every change notice of the store (a token
 * or audit write on any node) and every `intervalMs` while the store can be reached, so a Redis
 * restarted empty can be re-seeded with all of it (src/store/follow.ts). Only a change made in the
 * moment before Redis lost its data, before the notice's re-read, is what a restore cannot bring back.
 * @module
 */
import { parseOverride } from '../health/overrides.js';
import type { Override } from '../health/types.js';
import { AUDIT_TAIL, type LocalCopyFile } from '../store/local-copy.js';
import type { ConfigStore } from '../store/types.js';

/** Default refresh period: a few reads of small keys per node, and the loss window of a restore. */
export const COPY_REFRESH_MS = 5_000;

export class CopyRefresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** A refresh was asked for while one ran: it may have read before the change, so read again. */
  private again = false;

  constructor(
    private readonly file: LocalCopyFile,
    private readonly store: ConfigStore,
    private readonly overrides: () => Override[],
    private readonly intervalMs = COPY_REFRESH_MS,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
    void this.refresh();
  }

  /**
   * One refresh (at most one at a time; one asked for meanwhile runs after it). Never rejects: a
   * store that is away leaves the copy as it is.
   */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.read();
      } while (this.again && this.timer !== null);
    })().finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async read(): Promise<void> {
    try {
      // An empty store is what the copy restores: it must never overwrite the copy with nothing.
      const head = await this.store.head();
      if (head === 0) return;
      const [tokens, audit] = await Promise.all([this.store.tokens.list(), this.store.audit({ limit: AUDIT_TAIL })]);
      if ((await this.store.head()) < head) return; // lost its data meanwhile
      await this.file.update({ tokens, audit: audit.reverse(), overrides: this.overrides() });
    } catch {
      // The store is away; the follower logs that once.
    }
  }
}

/** The overrides of a local copy that still read as overrides (the copy keeps them unchecked). */
export function overridesOf(copy: { overrides: unknown[] } | null): Override[] {
  const out: Override[] = [];
  for (const o of copy?.overrides ?? []) {
    try {
      out.push(parseOverride(o));
    } catch {
      // a record this version cannot read is left out, as the bus leaves it out
    }
  }
  return out;
}
