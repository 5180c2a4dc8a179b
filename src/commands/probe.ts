/**
 * `meridian probe --region R`: the probe sidecar of one region. It checks every endpoint of every
 * region from where it runs and publishes its view to Redis (the `redis:` section, REDIS_URL or `health.redisUrl`), where
 * DNS nodes aggregate the views of all vantages by quorum. Without Redis there is nothing to share
 * with: the embedded mode runs the same vantage inside `meridian serve`.
 * @module
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { openBus, redisConnectionOf } from '../health/plane.js';
import { createLogger } from '../obs/log.js';
import { createMetrics, createProbeMetrics, serveMetrics } from '../obs/metrics.js';
import { Vantage } from '../probe/vantage.js';
import { formatSourceError } from '../zone/types.js';
import { parseListen } from '../config/load.js';
import { loadConfigFile } from '../node/config.js';

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
  const log = createLogger().child({ component: 'probe' });
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
  const vantageId = values.vantage ?? `${region}/${hostname()}`;
  const bus = openBus(config);
  const probeMetrics = createProbeMetrics();
  const vantage = new Vantage({
    vantage: vantageId,
    region,
    bus,
    targets: config.routing.endpoints,
    heartbeatTtlMs: config.health.heartbeatTtlMs,
    concurrency: config.routing.probe.concurrency,
    jitter: config.routing.probe.jitter,
    log,
    onCheck: probeMetrics.onCheck,
    onFlip: probeMetrics.onFlip,
  });
  let metricsServer = null;
  if (values.metrics) {
    const at = parseListen(values.metrics);
    if (typeof at === 'string') {
      process.stderr.write(`probe: --metrics: ${at}\n`);
      return 2;
    }
    const registry = createMetrics({});
    probeMetrics.register(registry);
    metricsServer = await serveMetrics(registry, at.host, at.port);
  }
  await vantage.start();
  log.info({ vantage: vantageId, region, endpoints: config.routing.endpoints.length }, 'ready');
  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await vantage.stop();
  metricsServer?.close();
  await bus.close();
  return 0;
}
