/**
 * The /16 level of a service's IPv4 decision cache (service.ts): decisions whose scope is /16 or
 * shorter, keyed by the client's /16 and the query family (17 bits). A Map while few /16s have been
 * seen; from `ARRAY_AT` entries on, a flat array of all 2^17 keys (512 KiB with V8's compressed
 * pointers), because under a resolver population's random subnets the Map probe was a fifth of a
 * cold miss's CPU in `npm run bench:cold` (2.1 vs 1.7 µs a query), and an array read is not. Only a
 * service that sees that many /16s pays for the array; emptying the cache returns to a Map.
 * @module
 */

/** Entries after which the Map becomes an array (a few thousand /16s: real cold traffic, not a test's handful). */
export const ARRAY_AT = 4096;
const KEYS = 1 << 17;

export class WideCache<T> {
  private map = new Map<number, T>();
  private slots: (T | undefined)[] | null = null;

  /** Whether the flat array is in use (tests read it). */
  get flat(): boolean {
    return this.slots !== null;
  }

  get(key: number): T | undefined {
    return this.slots !== null ? this.slots[key] : this.map.get(key);
  }

  set(key: number, value: T): void {
    if (this.slots !== null) {
      this.slots[key] = value;
      return;
    }
    this.map.set(key, value);
    if (this.map.size < ARRAY_AT) return;
    const slots = new Array<T | undefined>(KEYS).fill(undefined);
    for (const [k, v] of this.map) slots[k] = v;
    this.slots = slots;
    this.map = new Map();
  }

  clear(): void {
    this.map = new Map();
    this.slots = null;
  }
}
