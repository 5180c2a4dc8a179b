/**
 * `meridian override list | set SCOPE STATE [--for 2h] [--reason TEXT] | clear SCOPE`: operator
 * overrides that outrank the probes (gdnsd's admin_state, as a command). They are stored where the
 * health plane keeps them — Redis in cluster mode, the overrides file in embedded mode, which a
 * running `meridian serve` watches — so they survive restarts.
 *
 * Every set and clear is audited with its author (src/admin/README.md, "Overrides"):
 * - with an admin API in the config and a token (`--token`, `MERIDIAN_TOKEN` or the bootstrap token
 *   file), the command goes through the API, which writes the override and its audit entry; the
 *   author is the token's name;
 * - otherwise, or when nothing listens at the API's address, it writes the override and appends the
 *   audit entry to the config store itself (the data directory, or Redis); the author is `--author`,
 *   else `user@host`. A running embedded node holds its data directory: then the command refuses
 *   (nothing is written) and says to use the API, because an override it could not audit is what
 *   this rule exists to prevent.
 * @module
 */
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { auditExpiredOverrides, overrideClearEntry, overrideSetEntry } from '../admin/override-audit.js';
import type { LoadedConfig } from '../config/load.js';
import { openBus, redisConnectionOf } from '../health/plane.js';
import { RedisBus } from '../health/redis-bus.js';
import { formatOverrides, makeOverride, parseDuration, parseScope, type ParsedScope } from '../health/overrides.js';
import type { Override } from '../health/types.js';
import { createLogger } from '../obs/log.js';
import { storeOpener } from '../node/store.js';
import type { ConfigStore } from '../store/types.js';
import { formatSourceError } from '../zone/types.js';
import { adminTarget, callAdmin, type AdminTarget } from './admin-client.js';
import { loadConfigFile } from '../node/config.js';

const USAGE =
  'usage: meridian override list | set SCOPE up|down|drained [--for DURATION] --reason TEXT | clear SCOPE [--reason TEXT]\n' +
  '         [--config FILE] [--token SECRET] [--author NAME]\n' +
  '  SCOPE is region/<id> or endpoint/<region>/<id>';

interface Flags {
  for?: string | undefined;
  reason?: string | undefined;
  author?: string | undefined;
  token?: string | undefined;
}

/** What a set or clear asks for, validated before anything is sent or written. */
type Action = { verb: 'set'; scope: ParsedScope; override: Override } | { verb: 'clear'; scope: ParsedScope; reason: string; author: string };

/** A usage problem: one coded line on stderr and exit 2, before anything is read or written. */
class UsageError extends Error {
  constructor(
    readonly code: 'MERIDIAN_ERR_USAGE' | 'MERIDIAN_ERR_INVALID_DURATION' | 'MERIDIAN_ERR_NOT_FOUND',
    message: string,
  ) {
    super(message);
  }
}

const OPTIONS = { config: { type: 'string', short: 'c' }, for: { type: 'string' }, reason: { type: 'string' }, author: { type: 'string' }, token: { type: 'string' } } as const;

/** The arguments, with `--for` checked as a duration (a negative one, `--for -5m`, included). */
function parseOverrideArgs(args: string[]) {
  // parseArgs takes `-5m` after `--for` for an option and throws a TypeError with a stack.
  const i = args.indexOf('--for');
  if (i >= 0 && args[i + 1]?.startsWith('-')) throw new UsageError('MERIDIAN_ERR_INVALID_DURATION', `--for ${args[i + 1]}: a duration must be positive, e.g. 30m, 2h or 1h30m`);
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError('MERIDIAN_ERR_USAGE', `${(err as Error).message.split('\n')[0]} (${USAGE.split('\n')[0]})`);
  }
  const forText = parsed.values.for;
  if (forText !== undefined) {
    try {
      parseDuration(forText);
    } catch (err) {
      const reason = (err as Error).message.replace(/^duration: /, '');
      throw new UsageError('MERIDIAN_ERR_INVALID_DURATION', `--for ${forText}: ${forText.startsWith('-') ? 'a duration must be positive, e.g. 30m, 2h or 1h30m' : reason}`);
    }
  }
  return parsed;
}

export async function overrideCommand(args: string[], defaultConfig: string): Promise<number> {
  let parsed;
  try {
    parsed = parseOverrideArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`override: ${err.code}: ${err.message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [verb, scopeText, stateText] = positionals;
  const loaded = loadConfigFile(values.config ?? defaultConfig);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const config = loaded.config;
  try {
    if (verb === 'list' && positionals.length === 1) return await list(config);
    if ((verb === 'set' && positionals.length === 3) || (verb === 'clear' && positionals.length === 2)) {
      const action = actionOf(config, verb, scopeText!, stateText, values);
      const target = adminTarget(config, values.token);
      if (target) {
        const done = await viaApi(target, action, values);
        if (done !== null) return done;
        process.stderr.write(`override: nothing listens at the admin API (${target.base}); writing to the config store directly\n`);
      }
      return await direct(config, action);
    }
    process.stderr.write(USAGE + '\n');
    return 2;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`override: ${err.code}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

async function list(config: LoadedConfig): Promise<number> {
  const bus = openBus(config);
  try {
    if (bus instanceof RedisBus) await bus.whenConnected(5_000);
    process.stdout.write(formatOverrides(await bus.readOverrides(), Date.now()) + '\n');
    return 0;
  } finally {
    await bus.close();
  }
}

/** The action asked for; a bad scope or state is a UsageError (one coded line, exit 2). */
function actionOf(config: LoadedConfig, verb: 'set' | 'clear', scopeText: string, stateText: string | undefined, flags: Flags): Action {
  try {
    return readAction(config, verb, scopeText, stateText, flags);
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError('MERIDIAN_ERR_USAGE', (err as Error).message);
  }
}

function readAction(config: LoadedConfig, verb: 'set' | 'clear', scopeText: string, stateText: string | undefined, flags: Flags): Action {
  const scope = parseScope(scopeText);
  const author = flags.author ?? `${userInfo().username}@${hostname()}`;
  if (verb === 'clear') return { verb, scope, reason: flags.reason ?? '', author };
  const known = scope.kind === 'region' ? config.routing.regions.some((r) => r.id === scope.region) : config.routing.endpoints.some((e) => e.key === scope.key);
  if (!known) throw new UsageError('MERIDIAN_ERR_NOT_FOUND', `${scope.scope} is not in the config`);
  return { verb, scope, override: makeOverride({ scope: scope.scope, state: stateText!, for: flags.for ?? null, reason: flags.reason ?? '', author, now: Date.now() }) };
}

const describe = (o: { scope: string; state: string; expiresAt: string | number | null }): string =>
  `${o.scope} => ${o.state}${o.expiresAt !== null ? ` until ${new Date(o.expiresAt).toISOString()}` : ''}`;

/** Through the node's admin API; null when nothing listens there (nothing was done). */
async function viaApi(target: AdminTarget, action: Action, flags: Flags): Promise<number | null> {
  const path = `/v1/overrides/${action.scope.scope}`;
  const res =
    action.verb === 'set'
      ? await callAdmin(target, 'PUT', path, { state: action.override.state, reason: action.override.reason, ...(flags.for ? { for: flags.for } : {}) })
      : await callAdmin(target, 'DELETE', `${path}?${new URLSearchParams({ reason: action.reason })}`);
  if (res.kind === 'refused') return null;
  if (res.status !== 200) {
    const e = res.body?.error;
    process.stderr.write(`override: the admin API answered ${res.status}${e ? ` ${e.code}: ${e.message}` : ''}\n`);
    return 1;
  }
  if (flags.author) process.stderr.write(`override: --author is not used through the admin API; the token's name is the author\n`);
  process.stdout.write(action.verb === 'set' ? `${describe(res.body)} (admin API, audited as ${res.body.author})\n` : `cleared ${action.scope.scope} (admin API)\n`);
  return 0;
}

/** Writes the override (or clears it) where the health plane keeps it, and audits it in the config store. */
async function direct(config: LoadedConfig, action: Action): Promise<number> {
  const store = config.admin ? await openStore(config) : null;
  const bus = openBus(config);
  try {
    if (bus instanceof RedisBus) await bus.whenConnected(5_000);
    // Expired records first, audited: the overrides file is rewritten without them below.
    if (store) await auditExpiredOverrides(bus, store);
    let entry;
    if (action.verb === 'set') {
      await bus.writeOverride(action.override);
      entry = overrideSetEntry(action.override);
    } else {
      if (!(await bus.deleteOverride(action.scope.scope))) {
        process.stdout.write(`no override for ${action.scope.scope}\n`);
        return 1;
      }
      entry = overrideClearEntry(action.scope.scope, action.author, action.reason);
    }
    const where = redisConnectionOf(config) ? 'Redis' : 'overrides file';
    process.stdout.write(action.verb === 'set' ? `${describe(action.override)} (${where})\n` : `cleared ${action.scope.scope} (${where})\n`);
    if (!store) {
      process.stderr.write('override: not audited: this config has no admin: section, so there is no config store and no audit log\n');
      return 0;
    }
    try {
      await store.appendAudit(entry);
    } catch (err) {
      process.stderr.write(`override: done, but the audit entry could not be written: ${(err as Error).message}\n`);
      return 1;
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
      throw new Error(
        `override: a running node (process ${held[1]}) holds the config store, and an override must be audited there: ` +
          'go through its admin API with --token SECRET or MERIDIAN_TOKEN (an operator token), or admin.listen in this config. Nothing was changed.',
        { cause: err },
      );
    }
    throw new Error(`override: the config store cannot be opened (${msg}); nothing was changed`, { cause: err });
  }
}
