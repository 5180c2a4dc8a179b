/**
 * `meridian probe --region R`: the probe sidecar of one region. It checks every endpoint of every
 * region from where it runs and publishes its view to Redis (the `redis:` section, REDIS_URL or
 * `health.redisUrl`), where DNS nodes aggregate the views of all vantages by quorum. Without Redis
 * there is nothing to share with: the embedded mode runs the same vantage inside `meridian serve`.
 * In cluster mode its endpoints come from the config store (src/node/probe.ts); SIGHUP reloads the
 * YAML, SIGTERM/SIGINT stop it.
 * @module
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseListen } from '../config/load.js';
import { redisConnectionOf } from '../health/plane.js';
import { loadConfigFile } from '../node/config.js';
import { startProbeRole } from '../node/probe.js';
import { createLogger } from '../obs/log.js';
import { formatSourceError } from '../zone/types.js';
import { sighup } from './signals.js';

export async function probeCommand(args: string[], defaultConfig: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      region: { type: 'string' },
      vantage: { type: 'string' },
      metrics: { type: 'string' },
    },
  });
  const hup = sighup();
  // No component binding: the health plane's children bind their own (probe, health, store), and pino
  // repeats a key bound twice, which JSON readers collapse to one.
  const log = createLogger();
  const loaded = loadConfigFile(values.config ?? defaultConfig);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const config = loaded.config;
  const region = values.region;
  if (!region || !config.routing.regions.some((r) => r.id === region)) {
    process.stderr.write(`probe: --region must name a configured region (${config.routing.regions.map((r) => r.id).join(', ')})\n`);
    return 2;
  }
  if (!redisConnectionOf(config)) {
    process.stderr.write('probe: needs Redis (a redis: section, REDIS_URL or health.redisUrl); in embedded mode `meridian serve` probes in-process\n');
    return 2;
  }
  const metricsAt = values.metrics ? parseListen(values.metrics) : null;
  if (typeof metricsAt === 'string') {
    process.stderr.write(`probe: --metrics: ${metricsAt}\n`);
    return 2;
  }
  const vantage = values.vantage ?? `${region}/${hostname()}`;
  let role;
  try {
    role = await startProbeRole(config, { region, vantage, metrics: metricsAt }, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start the probe');
    return 1;
  }
  const probe = role;
  log.info({ vantage, region, endpoints: probe.config.routing.endpoints.length, configVersion: probe.follower?.version ?? null }, 'ready');
  hup.ready(() => probe.reload());
  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  hup.ignore();
  await probe.close();
  return 0;
}
