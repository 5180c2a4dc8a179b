/**
 * Runs dry-run comparisons in one worker thread (dryrun-worker.ts), so a rehearsal of a thousand
 * services against a thousand clients never runs on the event loop that answers DNS. One worker,
 * kept alive between dry runs (its geo database stays open), started at the first dry run; jobs run
 * one at a time in arrival order and at most `queue` wait behind the running one: more are refused
 * at once with 503 MERIDIAN_ERR_DRY_RUN_BUSY, so a script looping over dry runs cannot pile up
 * work or memory. A worker that dies fails the job it ran (500, logged) and the next job starts a
 * new one.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { Comparison } from '../admin/dryrun-compare.js';
import type { DryRunJob, DryRunner } from '../admin/dryrun-compare.js';
import { AdminError } from '../admin/errors.js';
import type { Logger } from '../obs/log.js';

/** What the worker receives: the admin side's job plus what only the node knows. */
export interface WorkerJob extends DryRunJob {
  id: number;
  /** The node's geo database (resolved path and its swap count); null when the node has none open. */
  geo: { path: string; version: number } | null;
  /** The YAML's probe defaults, which documents are compiled with. */
  probeDefaults: unknown;
}

export type WorkerReply = { id: number; ok: true; result: Comparison } | { id: number; ok: false; error: string };

export interface DryRunPoolOptions {
  /** Jobs that may wait behind the running one (admin.dryRunQueue). */
  queue: number;
  /** Read at each job: the geo database may be opened or reloaded after the pool is made. */
  context(): Pick<WorkerJob, 'geo' | 'probeDefaults'>;
  log: Logger;
}

interface Pending {
  job: WorkerJob;
  resolve(c: Comparison): void;
  reject(err: Error): void;
}

/**
 * The worker's entry. From the build it is the sibling .js file; from the sources (tests, `node
 * --import tsx`) a worker does not inherit tsx's loader, so a bootstrap registers it first.
 */
function workerUrl(): URL {
  const entry = new URL(`./dryrun-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  if (entry.pathname.endsWith('.js')) return entry;
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

export class DryRunPool implements DryRunner {
  private worker: Worker | null = null;
  private running: Pending | null = null;
  private readonly waiting: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: DryRunPoolOptions) {}

  run(job: DryRunJob): Promise<Comparison> {
    if (this.closed) return Promise.reject(new AdminError('MERIDIAN_ERR_DRY_RUN_BUSY', 'the node is shutting down'));
    if (this.running && this.waiting.length >= this.opts.queue) {
      return Promise.reject(new AdminError('MERIDIAN_ERR_DRY_RUN_BUSY', `${this.waiting.length + 1} dry runs are already running or waiting (admin.dryRunQueue ${this.opts.queue}); retry`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ job: { ...job, ...this.opts.context(), id: this.nextId++ }, resolve, reject });
      this.next();
    });
  }

  /** Stops the worker; jobs not yet answered fail. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new AdminError('MERIDIAN_ERR_DRY_RUN_BUSY', 'the node is shutting down');
    for (const p of this.waiting.splice(0)) p.reject(gone);
    const w = this.worker;
    this.worker = null;
    this.running?.reject(gone);
    this.running = null;
    await w?.terminate();
  }

  private next(): void {
    if (this.running || this.closed) return;
    const p = this.waiting.shift();
    if (!p) return;
    this.running = p;
    this.start().postMessage(p.job);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(workerUrl());
    // An idle worker must not keep a stopping process alive.
    w.unref();
    w.on('message', (reply: WorkerReply) => this.finish(reply));
    w.on('error', (err) => this.fail(w, err));
    w.on('exit', (code) => this.fail(w, new Error(`dry-run worker exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  private finish(reply: WorkerReply): void {
    const p = this.running;
    if (!p || p.job.id !== reply.id) return;
    this.running = null;
    if (reply.ok) p.resolve(reply.result);
    else {
      this.opts.log.error({ err: reply.error }, 'dry run failed in the worker');
      p.reject(new AdminError('MERIDIAN_ERR_INTERNAL', 'the dry run failed; the node logged why'));
    }
    this.next();
  }

  private fail(w: Worker, err: Error): void {
    if (this.worker !== w) return;
    this.worker = null;
    const p = this.running;
    this.running = null;
    if (p) {
      this.opts.log.error({ err: err.message }, 'dry-run worker failed');
      p.reject(new AdminError('MERIDIAN_ERR_INTERNAL', 'the dry run failed; the node logged why'));
    }
    this.next();
  }
}
