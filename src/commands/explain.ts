/**
 * `meridian explain NAME CLIENT-IP [--ecs PREFIX]`: loads the config, the geo database and the
 * current health (Redis in cluster mode, the cold-start view plus overrides in embedded mode) and
 * prints the service's decision for that client step by step (src/routing/explain.ts).
 * @module
 */
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { openHealthPlane } from '../health/plane.js';
import { RedisBus } from '../health/redis-bus.js';
import { explain, formatExplanation } from '../routing/explain.js';
import { buildServices, openGeo } from '../serve.js';
import { formatSourceError } from '../zone/types.js';

export async function explainCommand(args: string[], defaultConfig: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, ecs: { type: 'string' }, type: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [name, ip] = positionals;
  if (!name || !ip || positionals.length > 2 || (values.type && values.type !== 'A' && values.type !== 'AAAA')) {
    process.stderr.write('usage: meridian explain NAME CLIENT-IP [--ecs PREFIX] [--type A|AAAA] [--json] [--config FILE]\n');
    return 2;
  }
  const loaded = loadConfigFile(values.config ?? defaultConfig);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const geo = openGeo(loaded.config, null);
  const plane = openHealthPlane(loaded.config, { probes: false });
  try {
    if (plane.bus instanceof RedisBus) await plane.bus.whenConnected(5_000).catch(() => process.stderr.write('explain: Redis unreachable; health shown as cold start\n'));
    await plane.source.refresh();
    const services = buildServices(loaded.config, { geo: () => geo?.current ?? null, health: () => plane.source.current });
    const result = explain(services, name, ip, { ...(values.ecs !== undefined ? { ecs: values.ecs } : {}), ...(values.type ? { qtype: values.type as 'A' | 'AAAA' } : {}) });
    if (!result.ok) {
      process.stderr.write(result.error + '\n');
      return 1;
    }
    process.stdout.write((values.json ? JSON.stringify(result.explanation, null, 2) : formatExplanation(result.explanation)) + '\n');
    return 0;
  } finally {
    geo?.stop();
    await plane.close();
  }
}
