/**
 * The primary's side of `meridian serve --workers N`: forks the DNS workers (node:cluster), gives
 * each the config and health in force, sends them every change, restarts one that dies (with
 * backoff; the others keep answering), reads their metrics and client samples, and stops them.
 * See README.md for what runs where and why.
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListenAddress } from '../../config/load.js';
import type { PortSharing } from '../../dns/udp.js';
import type { AnswerUpdate } from '../../health/mirror.js';
import type { Logger } from '../../obs/log.js';
import { isFromWorker, type ConfigInputs, type FromWorker, type ToWorker, type WorkerInit } from './messages.js';
import { WorkerMetrics } from './metrics-page.js';

/** A worker must be answering within this of its fork (a start under tsx and coverage on a loaded 2-core machine takes seconds). */
const START_TIMEOUT_MS = 60_000;
/** Restart delays double from this for a worker that keeps dying, up to the cap. */
const RESTART_BASE_MS = 200;
const RESTART_MAX_MS = 10_000;
/** A worker that answered this long before it died starts the backoff again. */
const STABLE_MS = 10_000;
/** A worker that does not answer a metrics read within this is shown with its last figures. */
const METRICS_TIMEOUT_MS = 2_000;
/** How long stop() waits for the workers to close before killing them. */
const STOP_TIMEOUT_MS = 10_000;

export interface PoolOptions {
  count: number;
  sharing: PortSharing;
  listen: ListenAddress[];
  /** The config and health in force now: what a (re)started worker is given. */
  current(): { config: ConfigInputs; health: AnswerUpdate };
  log: Logger;
}

interface Slot {
  slot: number;
  worker: Worker | null;
  /** Init sent: changes go to this worker from now on. */
  live: boolean;
  ready: boolean;
  readyAt: number;
  failures: number;
  timer: NodeJS.Timeout | null;
  clients: string[];
}

/** The worker entry point beside this file, as run now: main.ts under tsx, main.js when built. */
const ENTRY = fileURLToPath(new URL(`./main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export class WorkerPool {
  readonly metrics = new WorkerMetrics();
  /** Workers restarted after an exit nobody asked for (`meridian_node_worker_restarts_total`). */
  restarts = 0;
  private readonly slots: Slot[];
  private stopping = false;
  /** What the workers were last sent (a version by its number: the same number is the same version). */
  private sent: { files: ConfigInputs['files']; version: number | null } | null = null;
  private readonly waiters = new Map<Worker, (problem: string | null) => void>();
  private readonly metricReads = new Map<number, { pending: Set<Worker>; done: () => void }>();
  private nextRead = 1;

  constructor(private readonly opts: PoolOptions) {
    this.slots = Array.from({ length: opts.count }, (_, i) => ({ slot: i + 1, worker: null, live: false, ready: false, readyAt: 0, failures: 0, timer: null, clients: [] }));
  }

  /**
   * Forks every worker and resolves once all answer; rejects (with every worker stopped) if one
   * cannot start. Changes sent meanwhile reach each worker after its init, in order.
   */
  async start(): Promise<void> {
    const { config } = this.opts.current();
    this.sent = { files: config.files, version: config.record?.version ?? null };
    cluster.setupPrimary({ exec: ENTRY, args: [], silent: false });
    const started = await Promise.all(this.slots.map((s) => this.fork(s)));
    const problems = started.filter((p): p is string => p !== null);
    if (problems.length) {
      await this.stop();
      throw new Error(problems.join('; '));
    }
  }

  /** Workers answering now (`meridian_node_workers`). */
  get running(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** The pids of the workers, by slot (0: none running in that slot). */
  get pids(): number[] {
    return this.slots.map((s) => s.worker?.process.pid ?? 0);
  }

  /** The config in force changed (a new version, or a reload with `reloadGeo`): each worker gets what changed. */
  configChanged(reloadGeo: boolean): void {
    const { config, health } = this.opts.current();
    const last = this.sent;
    const version = config.record?.version ?? null;
    this.sent = { files: config.files, version };
    const m: ToWorker = { t: 'config', reloadGeo };
    if (last?.files !== config.files) m.files = config.files;
    if (last?.version !== version) m.record = config.record;
    if (m.files === undefined && m.record === undefined && !reloadGeo) return;
    this.broadcast(m);
    // Regions a new config dropped leave the workers' health copies now, after the config that stopped using them.
    this.broadcast({ t: 'health', update: health });
  }

  /** The primary's health changed for some regions. */
  healthChanged(update: AnswerUpdate): void {
    this.broadcast({ t: 'health', update });
  }

  /** The workers' recent service clients merged, newest first, at most `max`. */
  recentClients(max: number): string[] {
    const lists = this.slots.map((s) => s.clients);
    const out = new Set<string>();
    for (let i = 0; out.size < max && lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length && out.size < max) out.add(l[i]!);
    return [...out];
  }

  /** Reads every answering worker's metrics (those that do not answer in time keep their last figures). */
  collectMetrics(): Promise<void> {
    const targets = this.slots.filter((s) => s.ready && s.worker?.isConnected()).map((s) => s.worker!);
    if (!targets.length) return Promise.resolve();
    const id = this.nextRead++;
    return new Promise((resolve) => {
      const timer = setTimeout(done, METRICS_TIMEOUT_MS);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.metricReads.set(id, {
        pending: new Set(targets),
        done: () => {
          this.metricReads.delete(id);
          done();
        },
      });
      for (const w of targets) send(w, { t: 'metrics', id });
    });
  }

  /** Stops every worker (they close their listeners and exit), killing any still running after STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = this.slots.flatMap((s) => {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      return s.worker && !s.worker.isDead() ? [s.worker] : [];
    });
    await Promise.all(
      running.map(
        (w) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => w.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (!send(w, { t: 'stop' })) w.process.kill('SIGTERM');
          }),
      ),
    );
  }

  private broadcast(m: ToWorker): void {
    for (const s of this.slots) if (s.live && s.worker) send(s.worker, m);
  }

  /** Forks the worker of a slot; resolves with null once it answers, or with the reason it did not. */
  private fork(s: Slot): Promise<string | null> {
    const worker = cluster.fork();
    s.worker = worker;
    s.live = false;
    s.ready = false;
    const log = this.opts.log.child({ worker: s.slot });
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(`worker ${s.slot} did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      const finish = (problem: string | null): void => {
        clearTimeout(timer);
        if (!this.waiters.delete(worker)) return;
        if (problem === null) {
          s.ready = true;
          s.readyAt = Date.now();
          log.info({ workerPid: worker.process.pid }, 'DNS worker answering');
        } else if (!worker.isDead()) worker.process.kill('SIGKILL');
        resolve(problem);
      };
      this.waiters.set(worker, finish);
      worker.on('message', (m: unknown) => this.onMessage(s, worker, m));
      worker.once('exit', (code, signal) => {
        finish(`worker ${s.slot} exited during its start (code ${code}, signal ${signal})`);
        void this.onExit(s, worker, code, signal, log);
      });
    });
  }

  private onMessage(s: Slot, worker: Worker, m: unknown): void {
    if (!isFromWorker(m)) return;
    const msg: FromWorker = m;
    if (msg.t === 'hello') {
      const { config, health } = this.opts.current();
      const init: WorkerInit = { slot: s.slot, workers: this.opts.count, sharing: this.opts.sharing, listen: this.opts.listen, config, health };
      s.live = send(worker, { t: 'init', init });
    } else if (msg.t === 'ready') this.waiters.get(worker)?.(null);
    else if (msg.t === 'failed') this.waiters.get(worker)?.(`worker ${s.slot}: ${msg.problems.join('; ')}`);
    else if (msg.t === 'clients') s.clients = msg.recent;
    else if (msg.t === 'metrics') {
      this.metrics.update(s.slot, msg.metrics);
      const read = this.metricReads.get(msg.id);
      if (read && read.pending.delete(worker) && read.pending.size === 0) read.done();
    }
  }

  private async onExit(s: Slot, worker: Worker, code: number | null, signal: string | null, log: Logger): Promise<void> {
    if (s.worker !== worker) return;
    const wasReady = s.ready;
    s.worker = null;
    s.live = false;
    s.ready = false;
    s.clients = [];
    for (const read of this.metricReads.values()) if (read.pending.delete(worker) && read.pending.size === 0) read.done();
    await this.metrics.retire(s.slot);
    if (this.stopping || !wasReady) return;
    s.failures = Date.now() - s.readyAt >= STABLE_MS ? 0 : s.failures + 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** s.failures);
    log.warn({ workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'DNS worker exited; the others keep answering, restarting it');
    s.timer = setTimeout(() => void this.restart(s, log), delay);
  }

  private async restart(s: Slot, log: Logger): Promise<void> {
    s.timer = null;
    if (this.stopping) return;
    this.restarts++;
    const problem = await this.fork(s);
    if (problem === null || this.stopping) return;
    // It never answered: try again later, backing off further.
    s.failures++;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** s.failures);
    log.error({ problem, restartInMs: delay }, 'DNS worker could not start; retrying');
    s.timer = setTimeout(() => void this.restart(s, log), delay);
  }
}

/**
 * Sends when the channel is up (a message over the backlog is queued, not lost); false when the
 * worker is gone, which its exit handler deals with.
 */
function send(worker: Worker, m: ToWorker): boolean {
  if (!worker.isConnected()) return false;
  try {
    worker.send(m);
    return true;
  } catch {
    return false;
  }
}
