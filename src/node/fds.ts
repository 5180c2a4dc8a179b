/**
 * The file-descriptor budget of a process that runs forwarders (`meridian forward`, or `meridian
 * serve` with `forward.embedded`). The descriptor limit is read at start (src/forward/budget.ts);
 * a reserve is kept for everything that is not a relayed connection, computed from the config
 * (each term is bounded by a cap of its own, so the reserve really covers it):
 *
 * | term | descriptors |
 * |---|---|
 * | the process itself (stdio, epoll, libuv's pipes, Redis, files, the geo database) | 64 |
 * | each DNS listen address (`serve` only) | 2 sockets + `dns.tcp.maxConnections` |
 * | the admin API (`admin.listen`) | 1 + ADMIN_MAX_CONNECTIONS (at the cap a new connection is accepted, then displaces an idle one: the instant of one more is inside the 64 above) |
 * | /metrics | 1 + METRICS_MAX_CONNECTIONS |
 * | probes | `health.probe.concurrency` (one socket per check in flight) |
 * | forwarder listeners, relay listeners and relay headers being read | one per listener, per relay listener 1 + MAX_PENDING_HEADERS |
 * | refusals reading up to the client's FIN | MAX_LINGERING_REFUSALS |
 *
 * `forward.fdReserve` replaces the computed value. The budget is made once, at start: listen
 * addresses and the limit apply at a restart anyway; explicit caps are checked again at every
 * reload and config version ({@link budgetProblems}).
 * @module
 */
import type { LoadedConfig } from '../config/load.js';
import { ConnectionBudget, MAX_LINGERING_REFUSALS, readFdLimit } from '../forward/budget.js';
import { MAX_PENDING_HEADERS } from '../forward/hop.js';
import { METRICS_MAX_CONNECTIONS } from '../obs/metrics.js';
import { ADMIN_MAX_CONNECTIONS } from '../admin/limit.js';

/** Descriptors of the process that are not sockets of a listed component. */
const BASE_FDS = 64;

/** Which process: `serve` also holds the DNS listeners and the admin API. */
export type FdRole = 'serve' | 'forward';

/** The descriptors kept for everything but relayed connections (see the table above). */
export function fdReserve(config: LoadedConfig, role: FdRole, forwarders: number): number {
  if (config.forward.fdReserve !== null) return config.forward.fdReserve;
  let n = BASE_FDS + MAX_LINGERING_REFUSALS;
  if (role === 'serve') {
    n += config.listen.length * (2 + config.dns.tcp.maxConnections);
    if (config.admin?.listen) n += 1 + ADMIN_MAX_CONNECTIONS;
  }
  if (config.metricsListen || role === 'forward') n += 1 + METRICS_MAX_CONNECTIONS;
  n += config.routing.probe.concurrency;
  n += forwarders * config.forward.listeners.length;
  const relays = role === 'serve' ? config.forward.embedded.filter((r) => config.forward.regions.get(r)?.relay).length : forwarders;
  n += relays * (1 + MAX_PENDING_HEADERS);
  return n;
}

/** The process's budget, read once at start; `forwarders` = how many regions this process runs. */
export function openBudget(config: LoadedConfig, role: FdRole, forwarders: number, limit = readFdLimit()): ConnectionBudget {
  return new ConnectionBudget(limit, fdReserve(config, role, forwarders));
}

/**
 * What makes a config unfit for the budget in force: a listener `maxConnections` above what the
 * process may hold, or no room at all for relayed connections. Each problem is `file:line:` and
 * the code the config errors of a start and a reload carry. The one copy of the rule: `serve` and
 * `forward` at start and on every reload and version, `meridian check` ({@link startBudgetProblems}).
 */
export function budgetProblems(config: LoadedConfig, budget: ConnectionBudget): string[] {
  const total = budget.connections;
  if (total === Infinity || config.forward.listeners.length === 0) return [];
  const at = (path: (string | number)[]): string => `${config.file}:${config.lineOf?.(path) ?? 0}: MERIDIAN_ERR_INVALID_CONFIG`;
  const why = `fd limit ${budget.limit} − reserve ${budget.reserve}, two descriptors per connection`;
  if (total < 1) return [`${at(['forward', 'fdReserve'])}: forward: no descriptors are left for relayed connections (${why}); raise the limit (LimitNOFILE) or lower forward.fdReserve`];
  const problems: string[] = [];
  config.forward.listeners.forEach((l, i) => {
    if (l.maxConnections !== null && l.maxConnections > total) {
      problems.push(
        `${at(['forward', 'listeners', i, 'maxConnections'])}: forward.listeners[${i}].maxConnections: ${l.maxConnections} is over the fd budget of ${total} relayed connections (${why}); lower it, leave it out (a share of the budget), or raise the limit`,
      );
    }
  });
  return problems;
}

/**
 * budgetProblems for the process this config starts, judged with this process's descriptor limit
 * (`meridian check`, run in the shell or unit that runs the role, has the same one): `serve` when
 * it embeds forwarders, else each `meridian forward`.
 */
export function startBudgetProblems(config: LoadedConfig, limit = readFdLimit()): string[] {
  if (config.forward.listeners.length === 0) return [];
  const embedded = config.forward.embedded.length;
  return budgetProblems(config, embedded ? openBudget(config, 'serve', embedded, limit) : openBudget(config, 'forward', 1, limit));
}
