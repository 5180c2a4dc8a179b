/**
 * The health plane of one process, from config: the bus (Redis when a `redis:` section, REDIS_URL
 * or `health.redisUrl` names one, else in memory), the HealthSource the DNS path reads, and in embedded
 * mode an in-process probe vantage on the same code paths as the `meridian probe` sidecar.
 * @module
 */
import { unwatchFile, watchFile } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../obs/log.js';
import { resolveRedis, type RedisConnection } from '../redis/config.js';
import { Vantage, type VantageSettings } from '../probe/vantage.js';
import type { RegionInput } from './aggregate.js';
import { MemoryBus } from './memory-bus.js';
import { RedisBus } from './redis-bus.js';
import { HealthSource } from './source.js';
import { logFlips } from './flip-log.js';
import type { HealthBus, Override } from './types.js';

export interface HealthPlane {
  mode: 'redis' | 'embedded';
  bus: HealthBus;
  source: HealthSource;
  /** The in-process vantage (embedded mode with endpoints), else null. */
  vantage: Vantage | null;
  /** Applies a reloaded config: region/endpoint lists, settings, probe targets. */
  update(config: LoadedConfig): void;
  close(): Promise<void>;
}

/**
 * The Redis this process shares with the others (bus, config store, load reports), or null in
 * embedded mode. Throws RedisConfigError (coded) for settings the environment makes invalid.
 */
export function redisConnectionOf(config: LoadedConfig, env: NodeJS.ProcessEnv = process.env): RedisConnection | null {
  return resolveRedis({ section: config.redis, legacyUrl: config.health.redisUrl, env, baseDir: dirname(config.file) });
}

export function regionInputs(config: LoadedConfig): RegionInput[] {
  return config.routing.regionSources.map((r) => {
    const endpoints = config.routing.endpoints.filter((e) => e.region === r.id);
    const own = new Set([...r.addresses.ipv4, ...r.addresses.ipv6]);
    return {
      id: r.id,
      endpoints: endpoints.map((e) => e.key),
      state: r.state,
      downAddresses: r.downAddresses,
      addressEndpoints: Object.fromEntries(endpoints.filter((e) => own.has(e.address)).map((e) => [e.key, e.address])),
    };
  });
}

/** What a config gives a probe vantage (embedded here, or `meridian probe`). */
export function vantageSettings(config: LoadedConfig): VantageSettings {
  return {
    targets: config.routing.endpoints,
    heartbeatTtlMs: config.health.heartbeatTtlMs,
    concurrency: config.routing.probe.concurrency,
    jitter: config.routing.probe.jitter,
    targetPolicy: config.targets,
  };
}

export function openBus(config: LoadedConfig): HealthBus {
  const connection = redisConnectionOf(config);
  if (connection) return new RedisBus({ connection });
  return new MemoryBus({ overridesFile: resolvePath(dirname(config.file), config.health.overridesFile) });
}

export interface PlaneOptions {
  log?: Logger;
  /** Run the in-process vantage in embedded mode (serve: yes; explain and override: no). */
  probes: boolean;
  /** Overrides in force before the first read from the bus (a node's local copy). */
  initialOverrides?: Override[];
  onCheck?: (key: string, ok: boolean, rttMs: number) => void;
  onFlip?: (key: string) => void;
  /** A check refused by health.targets at connect time (src/probe/guard.ts). */
  onDenied?: (key: string) => void;
}

export function openHealthPlane(config: LoadedConfig, opts: PlaneOptions): HealthPlane {
  const bus = openBus(config);
  const mode = bus instanceof RedisBus ? 'redis' : 'embedded';
  if (bus instanceof RedisBus) opts.log?.info({ redis: bus.where }, 'health plane on Redis');
  const settings = (c: LoadedConfig) => ({
    quorum: c.health.quorum,
    regionUpFraction: c.health.regionUpFraction,
    coldStart: c.health.coldStart,
    heartbeatTtlMs: c.health.heartbeatTtlMs,
    load: { threshold: c.forward.load.threshold, floor: c.forward.load.floor },
  });
  const source = new HealthSource({
    bus,
    regions: regionInputs(config),
    ...settings(config),
    resyncIntervalMs: config.health.resyncIntervalMs,
    ...(opts.initialOverrides ? { initialOverrides: opts.initialOverrides } : {}),
    ...(opts.log ? { log: opts.log.child({ component: 'health' }) } : {}),
  });
  // Flips are logged by the roles that answer or forward with this plane (explain and override do not).
  let inputs = regionInputs(config);
  const stopFlipLog = opts.probes && opts.log ? logFlips(source, () => inputs, opts.log.child({ component: 'health' })) : null;
  let vantage: Vantage | null = null;
  // In embedded mode this process is the vantage; started once the config has endpoints to check
  // (at start, or when the first one arrives by reload or through the config store).
  const probeIfNeeded = (c: LoadedConfig): void => {
    if (vantage || mode !== 'embedded' || !opts.probes || c.routing.endpoints.length === 0) return;
    vantage = new Vantage({
      vantage: 'embedded',
      region: null,
      bus,
      ...vantageSettings(c),
      ...(opts.log ? { log: opts.log.child({ component: 'probe' }) } : {}),
      ...(opts.onCheck ? { onCheck: opts.onCheck } : {}),
      ...(opts.onFlip ? { onFlip: (key: string) => opts.onFlip!(key) } : {}),
      ...(opts.onDenied ? { onDenied: opts.onDenied } : {}),
    });
    void vantage.start();
  };
  probeIfNeeded(config);
  // Embedded overrides live in a file that `meridian override` (another process) or an operator
  // edits: watch it, as gdnsd watches admin_state. Polling, because editors replace files.
  let watched: string | null = null;
  if (bus instanceof MemoryBus && opts.probes) {
    watched = resolvePath(dirname(config.file), config.health.overridesFile);
    watchFile(watched, { interval: 500, persistent: false }, () => {
      const r = bus.reloadOverridesFile();
      if (!r.ok) opts.log?.error({ file: watched, error: r.error }, 'overrides file rejected; the overrides in force stay');
      else if (r.changed) opts.log?.info({ file: watched }, 'overrides reloaded');
    });
  }
  return {
    mode,
    bus,
    source,
    get vantage() {
      return vantage;
    },
    update(next) {
      inputs = regionInputs(next);
      source.updateConfig(inputs, settings(next));
      if (vantage) vantage.apply(vantageSettings(next));
      else probeIfNeeded(next);
    },
    async close() {
      stopFlipLog?.();
      if (watched) unwatchFile(watched);
      await vantage?.stop();
      await source.close();
    },
  };
}
