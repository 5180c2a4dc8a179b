/**
 * The forwarder role (`meridian forward --region R`) in the shape of src/lifecycle/: built from the
 * YAML through one stack, then every config change (a store version, SIGHUP) through apply().
 * In cluster mode (an `admin:` section and Redis) it follows the config store like a DNS node, so
 * endpoints registered through the admin API become backends within a second, and it keeps its own
 * local copy to start while Redis is down. In embedded mode the store's files belong to `serve`
 * (they are locked), and the forwarder reads the YAML.
 * @module
 */
import type { LoadedConfig, ListenAddress } from '../config/load.js';
import { startForwarder, type Forwarder } from '../forward/forwarder.js';
import { openHealthPlane, type HealthPlane } from '../health/plane.js';
import type { Role } from '../lifecycle/role.js';
import { build } from '../lifecycle/stack.js';
import type { Logger } from '../obs/log.js';
import { configMetrics, createMetrics } from '../obs/metrics.js';
import { listenMetrics } from './metrics.js';
import { allOf } from '../obs/health-endpoints.js';
import { configReadiness, healthReadiness } from './readiness.js';
import { ConfigError } from '../config/load.js';
import { budgetProblems, openBudget } from './fds.js';
import type { ConfigFollower } from '../store/follow.js';
import { openGeo } from './services.js';
import { ConfigSources, countRejected, reloadRole } from './sources.js';
import { followAsSidecar } from './store.js';

export interface ForwardRole extends Role<LoadedConfig> {
  forwarder: Forwarder;
  plane: HealthPlane;
  follower: ConfigFollower | null;
  /** SIGHUP: re-reads the YAML; returns the problems (empty when applied). */
  reload(): string[];
}

export interface ForwardRoleOptions {
  region: string;
  /** Where /metrics listens, if anywhere. */
  metrics: ListenAddress | null;
  /** Instance id in load reports. */
  id?: string;
}

export async function startForwardRole(yaml: LoadedConfig, opts: ForwardRoleOptions, log: Logger): Promise<ForwardRole> {
  return build(async (stack) => {
    const geo = openGeo(yaml, log);
    if (geo) stack.push('geo database', () => geo.stop());
    const plane = openHealthPlane(yaml, { log, probes: true });
    stack.push('health plane', () => plane.close());
    // Shared with `sources`, made below once the forwarder runs: the forwarder counts the sockets it cannot bind.
    const rejected = new Map<string, number>();
    const registry = createMetrics({ health: () => plane, forwarderBlocksRejected: () => rejected });
    // Read once at start: relayed connections can never take the descriptors the rest needs (fds.ts).
    const budget = openBudget(yaml, 'forward', 1);
    const over = budgetProblems(yaml, budget);
    if (over.length) throw new ConfigError(over);
    log.info({ fdLimit: budget.limit, fdReserve: budget.reserve, relayedConnections: budget.connections }, 'fd budget');
    const deps = {
      health: plane.source,
      bus: plane.bus,
      geo: () => geo?.current ?? null,
      log,
      metrics: registry,
      budget,
      onRejectedBlock: (r: string) => countRejected(rejected, r),
      ...(opts.id ? { instanceId: opts.id } : {}),
    };
    const forwarder = await stack.open(
      'forwarder',
      () => startForwarder(yaml, opts.region, deps),
      (f) => f.close(),
    );
    let config = yaml;
    const role: ForwardRole = {
      get config() {
        return config;
      },
      forwarder,
      plane,
      follower: null,
      apply(next) {
        const problems = budgetProblems(next, budget);
        if (problems.length) return problems;
        config = next;
        plane.update(next);
        forwarder.update(next);
        return [];
      },
      reload: () => reloadRole(sources, log, () => geo?.reload()),
      close: () => stack.close(),
    };
    const sources = new ConfigSources(yaml, role, log, rejected);
    configMetrics(registry, sources);
    role.follower = await followAsSidecar(yaml, sources, log, stack, 'forward');
    if (opts.metrics) await listenMetrics(stack, registry, opts.metrics, allOf(configReadiness(role.follower, sources), healthReadiness(plane)));
    return role;
  });
}
