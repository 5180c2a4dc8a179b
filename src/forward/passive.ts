/**
 * Passive health (outlier detection, as Envoy's consecutive-connect-failure detector): a backend
 * that fails `consecutiveFailures` connects in a row (refused, unreachable, or no answer within
 * the connect timeout) is ejected, i.e. not picked for new connections, for a backoff period. The
 * period doubles with each ejection that follows a failed return (base, 2×base, … up to max), so a
 * dead backend costs one failed connect per period instead of one per client; one successful
 * connect after an ejection resets it. The probes' verdict is separate and slower: ejection reacts
 * within one connection, the snapshot within a probe's fall threshold.
 * @module
 */

export interface OutlierSettings {
  consecutiveFailures: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
}

interface BackendRecord {
  failures: number;
  /** Ejections since the last success: the exponent of the backoff. */
  ejections: number;
  ejectedUntil: number;
}

export class OutlierDetector {
  private readonly records = new Map<string, BackendRecord>();

  constructor(
    private settings: OutlierSettings,
    private readonly now: () => number = Date.now,
  ) {}

  update(settings: OutlierSettings): void {
    this.settings = settings;
  }

  isEjected(key: string): boolean {
    const r = this.records.get(key);
    return r !== undefined && r.ejectedUntil > this.now();
  }

  /** When the ejection of `key` ends (ms since epoch), or null when it is not ejected. */
  ejectedUntil(key: string): number | null {
    const r = this.records.get(key);
    return r && r.ejectedUntil > this.now() ? r.ejectedUntil : null;
  }

  /** Records a failed connect; returns the ejection period when this failure ejected the backend. */
  onFailure(key: string): number | null {
    const r = this.records.get(key) ?? { failures: 0, ejections: 0, ejectedUntil: 0 };
    this.records.set(key, r);
    r.failures++;
    if (r.failures < this.settings.consecutiveFailures) return null;
    const { baseEjectionMs, maxEjectionMs } = this.settings;
    const period = Math.min(maxEjectionMs, baseEjectionMs * 2 ** Math.min(r.ejections, 30));
    r.ejections++;
    r.failures = 0;
    r.ejectedUntil = this.now() + period;
    return period;
  }

  onSuccess(key: string): void {
    // Forget the backend entirely: the map holds only backends that failed recently.
    this.records.delete(key);
  }

  /** Keys ejected now (metrics). */
  ejected(): string[] {
    const now = this.now();
    return [...this.records].filter(([, r]) => r.ejectedUntil > now).map(([k]) => k);
  }
}
