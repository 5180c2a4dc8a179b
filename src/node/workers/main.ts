/**
 * Entry point of a DNS worker process (forked by pool.ts through node:cluster). Messages from the
 * primary are handled one at a time, in order: those that arrive while the worker starts wait for
 * it. Signals: SIGHUP is the primary's to handle (it judges the file once and sends the result);
 * SIGTERM or SIGINT stop this worker alone (the primary restarts it unless it is stopping too). The
 * worker exits when its primary does: node:cluster ends a worker whose IPC channel closes.
 * @module
 */
import { formatRedisProblem, RedisConfigError } from '../../redis/config.js';
import { ConfigError } from '../../config/load.js';
import { createLogger, type Logger } from '../../obs/log.js';
import { isToWorker, type FromWorker, type ToWorker } from './messages.js';
import { startDnsWorker, type DnsWorker } from './worker.js';

/** How often a worker with a client sampler tells the primary its recent clients (admin dry runs read them). */
const CLIENTS_EVERY_MS = 2_000;

let log: Logger = createLogger();
let worker: DnsWorker | null = null;
let stopping = false;
const queue: ToWorker[] = [];
let busy = false;

/** Sends to the primary; resolves once the message is handed to the channel (before an exit). */
function tell(m: FromWorker): Promise<void> {
  return new Promise((resolve) => (process.connected ? process.send!(m, undefined, undefined, () => resolve()) : resolve()));
}

async function handle(m: ToWorker): Promise<void> {
  if (m.t === 'init') {
    log = log.child({ worker: m.init.slot });
    try {
      worker = await startDnsWorker(m.init, log);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : err instanceof RedisConfigError ? err.problems.map(formatRedisProblem) : [(err as Error).message];
      log.fatal({ code: 'MERIDIAN_ERR_INVALID_CONFIG', problems }, 'DNS worker cannot start');
      await tell({ t: 'failed', problems });
      process.exit(1);
    }
    shareClients(worker);
    void tell({ t: 'ready' });
  } else if (m.t === 'stop') await stop();
  else if (!worker) return;
  else if (m.t === 'metrics') void tell({ t: 'metrics', id: m.id, metrics: await worker.metrics() });
  else worker.handle(m);
}

async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    for (let m = queue.shift(); m; m = queue.shift()) {
      try {
        await handle(m);
      } catch (err) {
        log.error({ err: (err as Error).message, message: m.t }, 'DNS worker: a message from the primary failed');
      }
    }
  } finally {
    busy = false;
  }
}

/** Recent clients, when they changed; only a node with an admin API samples them (admin.sampleSize). */
function shareClients(w: DnsWorker): void {
  let last = '';
  setInterval(() => {
    const recent = w.recentClients();
    const key = recent.join(',');
    if (key === last) return;
    last = key;
    void tell({ t: 'clients', recent });
  }, CLIENTS_EVERY_MS).unref();
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await worker?.close().catch((err: unknown) => log.error({ err: (err as Error).message }, 'DNS worker: close failed'));
  process.exit(0);
}

process.on('message', (m: unknown) => {
  if (!isToWorker(m)) return;
  queue.push(m);
  void pump();
});
process.on('SIGHUP', () => undefined);
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
void tell({ t: 'hello' });
