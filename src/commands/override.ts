/**
 * `meridian override list | set SCOPE STATE [--for 2h] [--reason TEXT] | clear SCOPE`: operator
 * overrides that outrank the probes (gdnsd's admin_state, as a command). They are stored where the
 * health plane keeps them — Redis in cluster mode, the overrides file in embedded mode, which a
 * running `meridian serve` watches — so they survive restarts.
 * @module
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { openBus, redisUrlOf } from '../health/plane.js';
import { RedisBus } from '../health/redis-bus.js';
import { formatOverrides, makeOverride, parseScope } from '../health/overrides.js';
import { formatSourceError } from '../zone/types.js';

const USAGE = 'usage: meridian override list | set SCOPE up|down|drained [--for DURATION] [--reason TEXT] | clear SCOPE  [--config FILE]\n  SCOPE is region/<id> or endpoint/<region>/<id>';

export async function overrideCommand(args: string[], defaultConfig: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, for: { type: 'string' }, reason: { type: 'string' }, author: { type: 'string' } },
  });
  const [verb, scopeText, stateText] = positionals;
  const loaded = loadConfigFile(values.config ?? defaultConfig);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const config = loaded.config;
  const bus = openBus(config);
  try {
    if (bus instanceof RedisBus) await bus.whenConnected(5_000);
    if (verb === 'list' && positionals.length === 1) {
      process.stdout.write(formatOverrides(await bus.readOverrides(), Date.now()) + '\n');
      return 0;
    }
    if ((verb === 'set' && positionals.length === 3) || (verb === 'clear' && positionals.length === 2)) {
      const parsed = parseScope(scopeText!);
      const known =
        parsed.kind === 'region'
          ? config.routing.regions.some((r) => r.id === parsed.region)
          : config.routing.endpoints.some((e) => e.key === parsed.key);
      if (!known && verb === 'set') throw new Error(`override scope: ${parsed.scope} is not in the config`);
      if (verb === 'clear') {
        const removed = await bus.deleteOverride(parsed.scope);
        process.stdout.write(removed ? `cleared ${parsed.scope}\n` : `no override for ${parsed.scope}\n`);
        return removed ? 0 : 1;
      }
      const o = makeOverride({
        scope: parsed.scope,
        state: stateText!,
        for: values.for ?? null,
        reason: values.reason ?? '',
        author: values.author ?? userInfo().username,
        now: Date.now(),
      });
      await bus.writeOverride(o);
      process.stdout.write(`${o.scope} => ${o.state}${o.expiresAt ? ` until ${new Date(o.expiresAt).toISOString()}` : ''} (${redisUrlOf(config) ? 'Redis' : 'overrides file'})\n`);
      return 0;
    }
    process.stderr.write(USAGE + '\n');
    return 2;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  } finally {
    await bus.close();
  }
}
