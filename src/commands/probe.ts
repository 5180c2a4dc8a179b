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
import type { Command } from 'commander';
import { act, configOption, subcommand, UsageError } from './define.js';
import { sighup } from './signals.js';

interface ProbeOptions {
  config: string;
  region: string;
  vantage?: string;
  metrics?: string;
}

export function registerProbe(program: Command): void {
  const cmd = subcommand(program, {
    name: 'probe',
    summary: 'probe sidecar of a region: checks every endpoint, publishes to Redis',
    description:
      'Probe sidecar (cluster mode): checks every endpoint of every region from where it runs and publishes its view to Redis,\n' +
      'where DNS nodes aggregate the views of all vantages by quorum. SIGHUP reloads the YAML; SIGTERM/SIGINT stop.',
    examples: ['meridian probe --region eu-west', 'REDIS_URL=redis://10.0.0.5:6379 meridian probe --region us-east --vantage us-east/probe-1 --metrics 127.0.0.1:9154'],
  })
    .requiredOption('--region <id>', 'the region this vantage runs in (a configured region)')
    .option('--vantage <name>', 'name of this vantage in the health views (default: REGION/hostname)')
    .option('--metrics <host:port>', 'serve Prometheus metrics here')
    .addOption(configOption());
  act(cmd, () => probe(cmd.opts<ProbeOptions>()));
}

async function probe(opts: ProbeOptions): Promise<number> {
  const hup = sighup();
  const [{ parseListen }, { redisConnectionOf }, { loadConfigFile }, { startProbeRole }, { createLogger }, { formatSourceError }] = await Promise.all([
    import('../config/listen.js'),
    import('../health/plane.js'),
    import('../node/config.js'),
    import('../node/probe.js'),
    import('../obs/log.js'),
    import('../zone/types.js'),
  ]);
  // No component binding: the health plane's children bind their own (probe, health, store), and pino
  // repeats a key bound twice, which JSON readers collapse to one.
  const log = createLogger();
  const loaded = loadConfigFile(opts.config);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const config = loaded.config;
  const region = opts.region;
  if (!config.routing.regions.some((r) => r.id === region)) {
    throw new UsageError('MERIDIAN_ERR_USAGE', `--region must name a configured region (${config.routing.regions.map((r) => r.id).join(', ')})`);
  }
  if (!redisConnectionOf(config)) {
    throw new UsageError('MERIDIAN_ERR_USAGE', 'needs Redis (a redis: section, REDIS_URL or health.redisUrl); in embedded mode `meridian serve` probes in-process');
  }
  const metricsAt = opts.metrics ? parseListen(opts.metrics) : null;
  if (typeof metricsAt === 'string') throw new UsageError('MERIDIAN_ERR_USAGE', `--metrics: ${metricsAt}`);
  const vantage = opts.vantage ?? `${region}/${hostname()}`;
  let role;
  try {
    role = await startProbeRole(config, { region, vantage, metrics: metricsAt }, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start the probe');
    return 1;
  }
  const running = role;
  log.info({ vantage, region, endpoints: running.config.routing.endpoints.length, configVersion: running.follower?.version ?? null }, 'ready');
  hup.ready(() => running.reload());
  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  hup.ignore();
  await running.close();
  return 0;
}
