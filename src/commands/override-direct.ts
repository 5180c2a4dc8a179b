/**
 * `meridian override` without an admin API to go through: the override is written where the health
 * plane keeps it (the overrides file, or Redis) and its audit entry is appended to the config store
 * itself (the data directory, or Redis). The store is opened before anything is written: an
 * override that cannot be audited is not done. A running embedded node holds its data directory,
 * so then the command refuses and says to use the API. Without an `admin:` section there is no
 * store: the override is written and said to be unaudited.
 * @module
 */
import { hostname, userInfo } from 'node:os';
import { auditExpiredOverrides, overrideClearEntry, overrideSetEntry } from '../admin/override-audit.js';
import type { LoadedConfig } from '../config/load.js';
import { openBus, redisConnectionOf } from '../health/plane.js';
import { RedisBus } from '../health/redis-bus.js';
import { makeOverride, type ParsedScope } from '../health/overrides.js';
import type { Override } from '../health/types.js';
import { storeOpener } from '../node/store.js';
import { createLogger } from '../obs/log.js';
import type { ConfigStore } from '../store/types.js';
import { Failure } from './define.js';
import { describeOverride } from './render.js';

/** The overrides on the health plane (expired ones included, as stored). */
export async function readOverrides(config: LoadedConfig): Promise<Override[]> {
  const bus = openBus(config);
  try {
    if (bus instanceof RedisBus) await bus.whenConnected(5_000);
    return await bus.readOverrides();
  } finally {
    await bus.close();
  }
}

/** Writes the override (or clears it) where the health plane keeps it, and audits it in the config store. */
export async function writeDirect(
  config: LoadedConfig,
  verb: 'set' | 'clear',
  scope: ParsedScope,
  state: string | undefined,
  flags: { for?: string | undefined; reason?: string | undefined; author?: string | undefined },
): Promise<number> {
  const author = flags.author ?? `${userInfo().username}@${hostname()}`;
  const override = verb === 'set' ? makeOverride({ scope: scope.scope, state: state!, for: flags.for ?? null, reason: flags.reason ?? '', author, now: Date.now() }) : null;
  const store = config.admin ? await openStore(config) : null;
  const bus = openBus(config);
  try {
    if (bus instanceof RedisBus) await bus.whenConnected(5_000);
    // Expired records first, audited: the overrides file is rewritten without them below.
    if (store) await auditExpiredOverrides(bus, store);
    let entry;
    if (override) {
      await bus.writeOverride(override);
      entry = overrideSetEntry(override);
    } else {
      if (!(await bus.deleteOverride(scope.scope))) {
        process.stdout.write(`no override for ${scope.scope}\n`);
        return 1;
      }
      entry = overrideClearEntry(scope.scope, author, flags.reason ?? '');
    }
    const where = redisConnectionOf(config) ? 'Redis' : 'overrides file';
    process.stdout.write(override ? `${describeOverride(override)} (${where})\n` : `cleared ${scope.scope} (${where})\n`);
    if (!store) {
      process.stderr.write('override: not audited: this config has no admin: section, so there is no config store and no audit log\n');
      return 0;
    }
    try {
      await store.appendAudit(entry);
    } catch (err) {
      throw new Failure('MERIDIAN_ERR_STORE_UNAVAILABLE', `done, but the audit entry could not be written: ${(err as Error).message}`);
    }
    process.stdout.write(`audited as ${entry.author}\n`);
    return 0;
  } finally {
    await bus.close();
    await store?.close();
  }
}

/** The config store, before anything is written: an action that cannot be audited is not done. */
async function openStore(config: LoadedConfig): Promise<ConfigStore> {
  const log = createLogger('error');
  try {
    return await storeOpener(config, log).open();
  } catch (err) {
    const msg = (err as Error).message;
    const held = /in use by process (\d+)/.exec(msg);
    if (held) {
      throw new Failure(
        'MERIDIAN_ERR_STORE_UNAVAILABLE',
        `a running node (process ${held[1]}) holds the config store, and an override must be audited there: ` +
          'go through its admin API with MERIDIAN_TOKEN or --token-file FILE (an operator token), or admin.listen in this config. Nothing was changed.',
      );
    }
    throw new Failure('MERIDIAN_ERR_STORE_UNAVAILABLE', `the config store cannot be opened (${msg}); nothing was changed`);
  }
}
