/**
 * Latency histograms for the scale benchmarks: 1 µs buckets up to 20 ms (a percentile is exact to
 * the microsecond where the targets are) and the slower samples kept as they are, so millions of
 * answers cost 80 kB and a sort of the tail only.
 * @module
 */
const FINE_US = 20_000;

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  private readonly fine = new Uint32Array(FINE_US + 1);
  private slow: number[] = [];
  count = 0;
  max = 0;

  /** Records one latency in milliseconds. */
  add(ms: number): void {
    const us = Math.round(ms * 1000);
    if (us <= FINE_US) this.fine[us < 0 ? 0 : us]!++;
    else this.slow.push(ms);
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The latency (ms) at fraction `p` of the samples (nearest rank), NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let us = 0; us <= FINE_US; us++) {
      seen += this.fine[us]!;
      if (seen >= rank) return us / 1000;
    }
    this.slow.sort((a, b) => a - b);
    return this.slow[Math.min(this.slow.length - 1, rank - seen - 1)]!;
  }

  summary(): LatencySummary {
    const r = (x: number): number => Math.round(x * 1000) / 1000;
    return { n: this.count, p50: r(this.percentile(0.5)), p90: r(this.percentile(0.9)), p99: r(this.percentile(0.99)), p999: r(this.percentile(0.999)), max: r(this.max) };
  }

  reset(): void {
    this.fine.fill(0);
    this.slow = [];
    this.count = 0;
    this.max = 0;
  }
}

/** Summary of a plain list of latencies (API calls, flip → answer). */
export function summarize(ms: number[]): LatencySummary {
  const h = new Histogram();
  for (const x of ms) h.add(x);
  return h.summary();
}

/** Milliseconds with 2 decimals below 10, else whole, with thousands separators. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms < 10 ? ms.toFixed(2) : Math.round(ms).toLocaleString('en-US');
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtMiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** A target line of a result table. */
export interface Target {
  what: string;
  measured: string;
  target: string;
  pass: boolean;
}

/** The markdown table of measured figures, then the targets with PASS/FAIL. */
export function markdown(rows: [string, string][], targets: Target[]): string {
  const lines = ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
  if (targets.length > 0) {
    lines.push('', '| target | measured | required | result |', '|---|---|---|---|');
    for (const t of targets) lines.push(`| ${t.what} | ${t.measured} | ${t.target} | ${t.pass ? 'PASS' : '**FAIL**'} |`);
  }
  return lines.join('\n');
}
