/**
 * The FORMERR/NOTIMP cap over UDP (`dns.errorRateLimit`, NSD's ERROR_RATELIMIT 100/s), per source
 * netblock: error answers are what a reflection attack would be made of, and with one global bucket
 * (NSD's) one flooding /24 silenced error answers for every other client. Fixed one-second windows
 * per netblock, in a bounded table.
 * @module
 */
import type { ClientPrefixes } from './prefix.js';
import type { DnsStats } from './stats.js';

interface Window {
  start: number;
  count: number;
}

export class ErrorCap {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly perSecond: number,
    private readonly prefixes: ClientPrefixes,
    private readonly tableSize: number,
    private readonly stats: DnsStats,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether one more FORMERR/NOTIMP may go to `source`'s netblock now. */
  allow(source: string): boolean {
    const key = this.prefixes.keyOf(source);
    if (key === null) return true;
    const now = this.now();
    let w = this.windows.get(key);
    if (w === undefined) {
      // Emptied when full, as the answer cache is: a random-source flood cannot grow it without bound.
      if (this.windows.size >= this.tableSize) {
        this.windows.clear();
        this.stats.errorCapClears++;
      }
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    } else if (now - w.start >= 1000) {
      w.start = now;
      w.count = 0;
    }
    return ++w.count <= this.perSecond;
  }
}
