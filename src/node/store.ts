/**
 * A role's link to the config store (roles with an `admin:` section): which store `admin.store`
 * names, and a follower whose versions reach the role through its ConfigSources (sources.ts).
 * @module
 */
import { dirname, resolve as resolvePath } from 'node:path';
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { redisConnectionOf } from '../health/plane.js';
import type { ResourceStack } from '../lifecycle/stack.js';
import type { Logger } from '../obs/log.js';
import { openFileStore } from '../store/file.js';
import { ConfigFollower } from '../store/follow.js';
import { LocalCopyFile } from '../store/local-copy.js';
import { openRedisStore } from '../store/redis.js';
import type { ConfigStore } from '../store/types.js';
import type { ConfigSources } from './sources.js';

export interface StoreOpener {
  kind: 'file' | 'redis';
  dataDir: string;
  /** Opens the store; `timeoutMs` bounds the wait for Redis (files open at once). */
  open(timeoutMs?: number): Promise<ConfigStore>;
}

/** The store named by `admin.store`: Redis in cluster mode, files in the data directory otherwise. */
export function storeOpener(config: LoadedConfig, log: Logger): StoreOpener {
  const admin = config.admin!;
  const dataDir = resolvePath(dirname(config.file), admin.dataDir);
  const redis = redisConnectionOf(config);
  const kind = admin.store === 'auto' ? (redis ? 'redis' : 'file') : admin.store;
  if (kind === 'redis') {
    if (!redis) throw new ConfigError([`${config.file}: admin.store is redis but no redis: section, REDIS_URL or health.redisUrl names Redis`]);
    return { kind, dataDir, open: (timeoutMs) => openRedisStore(redis, { log: log.child({ component: 'store' }), ...(timeoutMs !== undefined ? { openTimeoutMs: timeoutMs } : {}) }) };
  }
  return { kind, dataDir, open: () => openFileStore(dataDir) };
}

/**
 * The role's local copy in cluster mode, read now (a damaged copy is fatal: the node must not boot
 * on half a config); null in embedded mode, where the store is local already.
 */
export function openLocalCopy(opener: StoreOpener, name: string, log: Logger): LocalCopyFile | null {
  if (opener.kind !== 'redis') return null;
  const path = resolvePath(opener.dataDir, name);
  const file = new LocalCopyFile(path, (err) => log.warn({ err: err.message, path }, 'could not write the local config copy'));
  file.read();
  return file;
}

export interface FollowOptions {
  localCopy: LocalCopyFile | null;
  /** Restore a store found empty from the copy (DNS nodes, whose copy is complete). */
  restores?: boolean;
  /** Never write the store, not even to seed an empty one (probes, forwarders; see followAsSidecar). */
  readOnly?: boolean;
}

/**
 * Follows the store for a role: each version goes to `sources`, the follower closes with the role's
 * stack. Resolves once a version is in force (from the store, else the local copy, else the YAML).
 */
export async function followStore(opener: StoreOpener, config: LoadedConfig, sources: ConfigSources, log: Logger, stack: ResourceStack, opts: FollowOptions): Promise<ConfigFollower> {
  const follower = new ConfigFollower({
    openStore: opener.open,
    kind: opener.kind,
    seed: config.document,
    apply: (record) => sources.applyVersion(record),
    localCopy: opts.localCopy,
    restores: opts.restores ?? false,
    ...(opts.readOnly ? { readOnly: true } : {}),
    log: log.child({ component: 'config' }),
  });
  stack.push('config follower', () => follower.close());
  await follower.start();
  return follower;
}

/**
 * A probe's or forwarder's link to the store. In cluster mode (an `admin:` section and a Redis
 * store) it follows read-only, with its own local copy (`<dataDir>/<sidecar>-local-copy.json`): an
 * empty store waits for a DNS node to seed or restore it, since only DNS nodes hold the tokens,
 * overrides and numbering that must come back. With a file store, which `meridian serve` owns and
 * locks, it follows the YAML only (logged). Null when there is nothing to follow.
 */
export async function followAsSidecar(yaml: LoadedConfig, sources: ConfigSources, log: Logger, stack: ResourceStack, sidecar: 'probe' | 'forward'): Promise<ConfigFollower | null> {
  if (!yaml.admin) return null;
  const opener = storeOpener(yaml, log);
  if (opener.kind === 'redis') return followStore(opener, yaml, sources, log, stack, { localCopy: openLocalCopy(opener, `${sidecar}-local-copy.json`, log), readOnly: true });
  log.warn(`config store is files owned by \`meridian serve\`: this ${sidecar} follows the YAML only`);
  return null;
}
