/**
 * The main thread's handle on the DNS load worker (load-worker.ts): builds the query pool, and
 * measures the node's maximum rate closed-loop before anything else runs.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { clients, expectation } from './clients.js';
import { serviceName, type DeploymentShape } from './deployment.js';
import type { LoadCommand, LoadInit, LoadMessage, LoadResult, PhaseResult, PoolEntry } from './load-worker.js';

export type { LoadResult, PhaseResult, SeriesPoint } from './load-worker.js';

/** `size` random (service, client) pairs over every service and `clientCount` client /24s (seeded: the same pool every run). */
export function queryPool(shape: DeploymentShape, size: number, clientCount: number, zone?: string): PoolEntry[] {
  const cs = clients(clientCount);
  let seed = 0x9e3779b9;
  const rand = (n: number): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % n;
  };
  return Array.from({ length: size }, () => {
    const k = rand(shape.services);
    const client = cs[rand(cs.length)]!;
    return { name: serviceName(k, zone), ecs: client.ecs, expect: expectation(shape, k, client) };
  });
}

/** The worker's entry: a data: URL that registers tsx first (a worker does not inherit `--import tsx`). */
function workerEntry(): URL {
  const entry = new URL('./load-worker.ts', import.meta.url);
  return new URL(
    `data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(entry.href)});`)}`,
  );
}

export class DnsLoad {
  private readonly worker: Worker;
  private readonly result: Promise<LoadResult>;
  /** Resolves once the worker has encoded its pool and opened its sockets. */
  readonly ready: Promise<void>;

  private constructor(init: LoadInit) {
    this.worker = new Worker(workerEntry(), { workerData: init });
    let ready: () => void = () => undefined;
    this.ready = new Promise((r) => (ready = r));
    this.result = new Promise((resolve, reject) => {
      this.worker.on('message', (m: LoadMessage) => (m.type === 'ready' ? ready() : resolve(m.result)));
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`load worker exited (${code}) before its result`)));
    });
    // An unexpected end surfaces at stop(); until then nobody awaits it.
    this.result.catch(() => undefined);
  }

  /** A started worker, ready for commands (a worker that fails to start rejects). */
  static async start(init: LoadInit): Promise<DnsLoad> {
    const load = new DnsLoad(init);
    await Promise.race([load.ready, load.result]);
    return load;
  }

  private post(c: LoadCommand): void {
    this.worker.postMessage(c);
  }

  phase(name: string): void {
    this.post({ cmd: 'phase', name });
  }

  closed(window: number): void {
    this.post({ cmd: 'mode', mode: 'closed', window });
  }

  open(rate: number): void {
    this.post({ cmd: 'mode', mode: 'open', rate });
  }

  idle(): void {
    this.post({ cmd: 'mode', mode: 'idle' });
  }

  /** Stops sending, waits out the queries in flight, and returns every phase. */
  async stop(): Promise<LoadResult> {
    this.post({ cmd: 'stop' });
    const r = await this.result;
    await this.worker.terminate();
    return r;
  }

  /** Ends the worker without its result (cleanup after a failure). */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }
}

export const phaseOf = (r: LoadResult, name: string): PhaseResult | undefined => r.phases.find((p) => p.name === name);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The node's maximum rate: `window` queries in flight for `seconds` after a second of warm-up,
 * answers a second. Measured on its own (no flips, no API writes), as every run's first step.
 */
export async function measureMax(init: LoadInit, seconds: number, window = 100): Promise<{ qps: number; phase: PhaseResult }> {
  const load = await DnsLoad.start(init);
  try {
    load.phase('max warm-up');
    load.closed(window);
    await sleep(1000);
    load.phase('max');
    await sleep(seconds * 1000);
    load.idle();
    load.phase('max end');
    const r = await load.stop();
    const p = phaseOf(r, 'max')!;
    return { qps: p.answered / (p.ms / 1000), phase: p };
  } catch (err) {
    await load.kill();
    throw err;
  }
}
