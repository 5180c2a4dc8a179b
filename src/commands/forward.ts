/**
 * `meridian forward --region R`: the L4 forwarder of one region (src/forward/README.md). It reads
 * health from the health plane (Redis in cluster mode; in embedded mode it probes in-process, as
 * `serve` does), publishes load reports, and on SIGTERM/SIGINT drains: no new connections, open
 * ones get `forward.drainDeadlineMs` to finish, then it exits. A second signal stops at once.
 * SIGHUP reloads the config (pools, weights, relay targets; listen addresses need a restart).
 * @module
 */
import { parseArgs } from 'node:util';
import { loadConfigFile, parseListen } from '../config/load.js';
import { startForwarder } from '../forward/forwarder.js';
import { openHealthPlane } from '../health/plane.js';
import { createLogger } from '../obs/log.js';
import { createMetrics, serveMetrics } from '../obs/metrics.js';
import { openGeo } from '../serve.js';
import { formatSourceError } from '../zone/types.js';

export async function forwardCommand(args: string[], defaultConfig: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, region: { type: 'string' }, metrics: { type: 'string' }, id: { type: 'string' } },
  });
  const log = createLogger();
  const loaded = loadConfigFile(values.config ?? defaultConfig);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  let config = loaded.config;
  const region = values.region;
  if (!region || !config.routing.regions.some((r) => r.id === region)) {
    process.stderr.write(`forward: --region must name a configured region (${config.routing.regions.map((r) => r.id).join(', ')})\n`);
    return 2;
  }
  if (config.forward.listeners.length === 0) {
    process.stderr.write('forward: no listeners configured (forward.listeners)\n');
    return 2;
  }
  const metricsAt = values.metrics ? parseListen(values.metrics) : null;
  if (typeof metricsAt === 'string') {
    process.stderr.write(`forward: --metrics: ${metricsAt}\n`);
    return 2;
  }
  const geo = openGeo(config, log);
  const plane = openHealthPlane(config, { log, probes: true });
  const registry = createMetrics({ health: () => plane });
  let fwd;
  try {
    fwd = await startForwarder(config, region, {
      health: plane.source,
      bus: plane.bus,
      geo: () => geo?.current ?? null,
      log,
      metrics: registry,
      ...(values.id ? { instanceId: values.id } : {}),
    });
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start the forwarder');
    geo?.stop();
    await plane.close();
    return 1;
  }
  const metricsServer = metricsAt ? await serveMetrics(registry, metricsAt.host, metricsAt.port) : null;
  log.info({ region, mode: plane.mode }, 'ready');

  process.on('SIGHUP', () => {
    const next = loadConfigFile(config.file);
    if (!next.ok) return log.error({ problems: next.errors.map(formatSourceError) }, 'reload rejected; the running config stays');
    config = next.config;
    plane.update(config);
    geo?.reload();
    fwd.update(config);
    log.info('reloaded');
  });
  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  // A second signal means "now": close whatever the drain is still waiting for.
  const hurry = (): void => void fwd.close();
  process.once('SIGTERM', hurry);
  process.once('SIGINT', hurry);
  const result = await fwd.drain(config.forward.drainDeadlineMs);
  log.info({ remaining: result.remaining, elapsedMs: result.elapsedMs }, 'stopping');
  await fwd.close();
  metricsServer?.close();
  geo?.stop();
  await plane.close();
  return 0;
}
