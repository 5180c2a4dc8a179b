/**
 * The rows the scale benchmarks print: figures of a run as markdown table rows, and the targets
 * both benchmarks share (issue 17).
 * @module
 */
import type { DeploymentShape } from './deployment.js';
import type { RunResult } from './run.js';
import { BULK } from './versions.js';
import { fmtInt, fmtMiB, fmtMs, summarize, type Target } from './stats.js';

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const latency = (s: { n: number; p50: number; p99: number; max: number }): string => `p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms, max ${fmtMs(s.max)} ms (${fmtInt(s.n)})`;

export function setupRows(r: RunResult, shape: DeploymentShape, seconds: number): [string, string][] {
  const l = r.load;
  return [
    ['machine', r.machine],
    [
      'deployment',
      `${fmtInt(shape.endpoints)} endpoints, ${fmtInt(shape.regions)} regions, ${fmtInt(shape.services)} services (${(shape.policies ?? ['failover', 'weighted', 'multivalue']).join(', ')})`,
    ],
    [
      'processes',
      `\`meridian serve\` (MERIDIAN_WORKERS=${process.env.MERIDIAN_WORKERS ?? '1'}) on redis-server (config store + health bus), one \`meridian probe\` sidecar, load from a worker thread of the bench process`,
    ],
    ['node start (config compiled, API and probe view live)', `${fmtInt(r.startupMs)} ms`],
    ['max qps (closed loop, 100 in flight, nothing else running)', r.maxQps === null ? 'not measured' : fmtInt(r.maxQps)],
    ['load', `${fmtInt(r.rate)} qps open loop for ${seconds} s: ${fmtInt(l.sent)} sent, ${fmtInt(l.answered)} answered, ${fmtInt(l.lost)} lost, ${fmtInt(l.invalid)} invalid answers`],
    ['DNS latency during flips', `p50 ${fmtMs(l.latency.p50)} ms, p90 ${fmtMs(l.latency.p90)} ms, p99 ${fmtMs(l.latency.p99)} ms, p99.9 ${fmtMs(l.latency.p999)} ms, max ${fmtMs(l.latency.max)} ms`],
  ];
}

export function flipRows(r: RunResult, seconds: number): [string, string][] {
  const f = r.flips;
  return [
    [
      'flips (listeners toggled under the probe / published by it)',
      `${fmtInt(f.toggles)} / ${fmtInt(f.published)} (${(f.published / seconds).toFixed(0)}/s); ${fmtInt(f.short)} skipped (nothing eligible)`,
    ],
    ['flip → answer (front endpoints, from the bus notice)', `${latency(f.toAnswer)}; ${f.unreflected} not reflected in time`],
  ];
}

export function resourceRows(r: RunResult): [string, string][] {
  const rss = r.rss.map(([, b]) => b);
  const v = r.versions;
  const loopMax = Math.max(0, ...r.eventLoop.map(([, s]) => s));
  return [
    ['RSS of serve (peak / end)', rss.length ? `${fmtMiB(Math.max(...rss))} / ${fmtMiB(rss.at(-1)!)}` : '-'],
    ['event-loop delay max (serve, per scrape)', `${fmtMs(loopMax * 1000)} ms over ${r.eventLoop.length} scrapes`],
    ['version bytes per registration (mean / max)', `${fmtInt(mean(v.perWrite))} / ${fmtInt(Math.max(0, ...v.perWrite))} B over ${v.perWrite.length} versions`],
    ['full copy of the config (document)', `${fmtInt(v.fullCopy)} B`],
    [`one change of ${BULK} endpoints (region PUT)`, `${fmtInt(v.bulk)} B`],
    ['registration (POST endpoint)', latency(summarize(r.api.register))],
    ...(r.api.deregister.length ? [['deregistration (DELETE endpoint)', latency(summarize(r.api.deregister))] as [string, string]] : []),
    ['GET /v1/status', latency(summarize(r.api.status))],
    ['API failures', r.api.failures.length ? r.api.failures.slice(0, 3).join('; ') : 'none'],
    [
      'node counters',
      Object.entries(r.counters)
        .map(([k, n]) => `${k.replace(/^meridian_/, '')} ${fmtInt(n)}`)
        .join(', '),
    ],
  ];
}

export function dnsTarget(r: RunResult, label: string): Target {
  return { what: `DNS p99 ${label}`, measured: `${fmtMs(r.load.latency.p99)} ms`, target: '< 1 ms', pass: r.load.latency.p99 < 1 };
}

export function rssTarget(r: RunResult): Target {
  const peak = Math.max(0, ...r.rss.map(([, b]) => b));
  return { what: 'RSS of serve (peak)', measured: fmtMiB(peak), target: '< 1 GiB', pass: peak > 0 && peak < 1024 ** 3 };
}

/** Per write ≤ 1 % of a full copy, and the 20-endpoint change between one write and 10 % of a copy. */
export function versionTarget(r: RunResult): Target {
  const v = r.versions;
  const one = mean(v.perWrite);
  const pass = v.perWrite.length > 0 && one <= v.fullCopy / 100 && v.bulk > one && v.bulk < v.fullCopy / 10;
  return {
    what: 'version size grows with the change',
    measured: `${fmtInt(one)} B per registration, ${fmtInt(v.bulk)} B for ${BULK} endpoints, ${fmtInt(v.fullCopy)} B a full copy`,
    target: `≤ 1 % of a copy; ${BULK} endpoints cost more, < 10 %`,
    pass,
  };
}

export function flipTarget(r: RunResult): Target {
  const f = r.flips.toAnswer;
  return { what: 'flip → answer p99', measured: `${fmtMs(f.p99)} ms (${f.n} flips)`, target: '< 200 ms', pass: f.n > 0 && f.p99 < 200 };
}
