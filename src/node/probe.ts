/**
 * The probe role (`meridian probe --region R`) in the shape of src/lifecycle/: built from the YAML
 * through one stack, then every config (the store's first version, each later one, SIGHUP) through
 * apply(). In cluster mode (an `admin:` section and Redis) it follows the config store read-only like
 * a DNS node follows it, so an endpoint registered through the admin API is checked and one
 * deregistered stops being checked within about a second; its own local copy lets it start while
 * Redis is down.
 * @module
 */
import type { ListenAddress, LoadedConfig } from '../config/load.js';
import { openBus, vantageSettings } from '../health/plane.js';
import type { Role } from '../lifecycle/role.js';
import { build } from '../lifecycle/stack.js';
import type { Logger } from '../obs/log.js';
import { configMetrics, createMetrics, createProbeMetrics } from '../obs/metrics.js';
import { listenMetrics } from './metrics.js';
import { allOf } from '../obs/health-endpoints.js';
import { configReadiness, publishReadiness } from './readiness.js';
import { Vantage } from '../probe/vantage.js';
import type { ConfigFollower } from '../store/follow.js';
import { ConfigSources, reloadRole } from './sources.js';
import { followAsSidecar } from './store.js';

export interface ProbeRole extends Role<LoadedConfig> {
  vantage: Vantage;
  follower: ConfigFollower | null;
  /** SIGHUP: re-reads the YAML; returns the problems (empty when applied). */
  reload(): string[];
}

export interface ProbeRoleOptions {
  /** Where the vantage runs: a label of its view (it checks every region's endpoints). */
  region: string;
  vantage: string;
  /** Where /metrics listens, if anywhere. */
  metrics: ListenAddress | null;
}

export async function startProbeRole(yaml: LoadedConfig, opts: ProbeRoleOptions, log: Logger): Promise<ProbeRole> {
  return build(async (stack) => {
    const bus = openBus(yaml);
    stack.push('health bus', () => bus.close());
    const probeMetrics = createProbeMetrics();
    const vantage = new Vantage({
      vantage: opts.vantage,
      region: opts.region,
      bus,
      ...vantageSettings(yaml),
      log,
      onCheck: probeMetrics.onCheck,
      onFlip: probeMetrics.onFlip,
      onDenied: probeMetrics.onDenied,
    });
    let config = yaml;
    let regionKnown = true;
    const role: ProbeRole = {
      get config() {
        return config;
      },
      vantage,
      follower: null,
      apply(next) {
        // Before start() the vantage only records the settings; start() then checks the latest.
        vantage.apply(vantageSettings(next));
        config = next;
        const known = next.routing.regions.some((r) => r.id === opts.region);
        if (known !== regionKnown)
          log[known ? 'info' : 'warn']({ region: opts.region }, known ? "the probe's region is configured again" : "the probe's region is no longer configured; it keeps checking every endpoint");
        regionKnown = known;
        return [];
      },
      reload: () => reloadRole(sources, log),
      close: () => stack.close(),
    };
    const sources = new ConfigSources(yaml, role, log);
    role.follower = await followAsSidecar(yaml, sources, log, stack, 'probe');
    if (opts.metrics) {
      const registry = createMetrics({});
      probeMetrics.register(registry);
      probeMetrics.publishes(registry, () => vantage.publishes);
      configMetrics(registry, sources);
      await listenMetrics(stack, registry, opts.metrics, allOf(configReadiness(role.follower, sources), publishReadiness(vantage)));
    }
    await stack.open(
      'vantage',
      () => vantage.start().then(() => vantage),
      (v) => v.stop(),
    );
    return role;
  });
}
