/**
 * How many DNS workers a node runs and how they share their ports: decided once by the primary
 * before any worker starts (the ports themselves: claim.ts). Node built-ins only, so the CLI can
 * judge `--workers` while it parses the command line.
 * @module
 */
import { availableParallelism } from 'node:os';
import type { PortSharing } from '../../dns/udp.js';

/** More processes than this is a typo, not a machine. */
export const MAX_WORKERS = 256;

/** `auto`, or a count from 1 to MAX_WORKERS. */
export type WorkersSetting = 'auto' | number;

/**
 * The worker count from the first of `--workers`, MERIDIAN_WORKERS and `dns.workers` that is set
 * (`auto`: the number of cores the process may use, `os.availableParallelism()`). A bad value is
 * a problem (a string), never a silent default.
 */
export function workerCount(given: string | undefined, configured: WorkersSetting, cores = availableParallelism()): number | string {
  const setting = given === undefined ? configured : parseWorkers(given);
  if (typeof setting === 'string' && setting !== 'auto') return setting;
  return setting === 'auto' ? Math.max(1, Math.min(MAX_WORKERS, cores)) : setting;
}

/** `auto` or a count from 1 to MAX_WORKERS; anything else is a problem (a string that is neither). */
export function parseWorkers(text: string): WorkersSetting | string {
  const t = text.trim();
  if (t === 'auto') return 'auto';
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS) return n;
  return `workers: must be auto or an integer from 1 to ${MAX_WORKERS} (got "${text}")`;
}

/** Whether this runtime can bind UDP and TCP with SO_REUSEPORT (Node 22.12+ and 23.1+, on Linux where the kernel balances). */
export function reusePortAvailable(version = process.versions.node, platform = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return platform === 'linux' && (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12));
}

/**
 * `reuseport` where the runtime has it, else `cluster`; MERIDIAN_WORKER_SHARING names one (to
 * compare them on one runtime, bench/dns). Asking for reuseport where it is missing is a problem.
 */
export function portSharing(env: string | undefined, available = reusePortAvailable()): PortSharing | string {
  const want = env?.trim() || 'auto';
  if (want === 'auto') return available ? 'reuseport' : 'cluster';
  if (want === 'cluster') return 'cluster';
  if (want === 'reuseport') return available ? 'reuseport' : `MERIDIAN_WORKER_SHARING=reuseport needs Node >= 22.12 on Linux (this is Node ${process.versions.node} on ${process.platform})`;
  return `MERIDIAN_WORKER_SHARING must be auto, reuseport or cluster (got "${env}")`;
}
