/**
 * `meridian forward --region R`: the L4 forwarder of one region (src/forward/README.md). It reads
 * health from the health plane (Redis in cluster mode; in embedded mode it probes in-process, as
 * `serve` does), publishes load reports, and on SIGTERM/SIGINT drains: no new connections, open
 * ones get `forward.drainDeadlineMs` to finish, then it exits. A second signal stops at once.
 * SIGHUP reloads the config (pools, weights, relay targets; listen addresses need a restart).
 * @module
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile, parseListen } from '../config/load.js';
import { startForwarder } from '../forward/forwarder.js';
import { openHealthPlane } from '../health/plane.js';
import { createLogger } from '../obs/log.js';
import { createMetrics, serveMetrics } from '../obs/metrics.js';
import { compileDocument, type CompiledDocument, type ConfigDocument } from '../config/document.js';
import { ConfigFollower } from '../config/follow.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../obs/log.js';
import { configWithDocument, openGeo, storeOpener } from '../serve.js';
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
  const follower = await followStore(config, log, (compiled, document) => {
    config = configWithDocument(config, compiled, document, log);
    plane.update(config);
    fwd.update(config);
  });
  const metricsServer = metricsAt ? await serveMetrics(registry, metricsAt.host, metricsAt.port) : null;
  log.info({ region, mode: plane.mode, configVersion: follower?.version ?? null }, 'ready');

  process.on('SIGHUP', () => {
    const next = loadConfigFile(config.file);
    if (!next.ok) return log.error({ problems: next.errors.map(formatSourceError) }, 'reload rejected; the running config stays');
    // With a config store, the store's regions (endpoints, forwarder blocks) stay; the YAML gives settings.
    const doc = follower?.document;
    const again = doc ? compileDocument(doc, next.config.health.probe) : null;
    config = again?.ok && doc ? configWithDocument(next.config, again.compiled, doc, log) : next.config;
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
  await follower?.close();
  metricsServer?.close();
  geo?.stop();
  await plane.close();
  return 0;
}

/**
 * In cluster mode (an `admin:` section and Redis) the forwarder follows the config store like a DNS
 * node, so endpoints registered through the admin API become backends within a second; it keeps a
 * local copy per region to start while Redis is down. In embedded mode the store belongs to `serve`
 * (its files are locked), and the forwarder reads the YAML.
 */
async function followStore(config: LoadedConfig, log: Logger, apply: (compiled: CompiledDocument, document: ConfigDocument) => void): Promise<ConfigFollower | null> {
  if (!config.admin) return null;
  const opener = storeOpener(config, log);
  if (opener.kind !== 'redis') {
    log.warn('config store is files owned by `meridian serve`: this forwarder follows the YAML only');
    return null;
  }
  const follower = new ConfigFollower({
    openStore: opener.open,
    seed: config.document,
    probeDefaults: config.health.probe,
    apply: (compiled, record) => apply(compiled, record.document),
    localCopyPath: join(opener.dataDir, 'forward-local-copy.json'),
    log: log.child({ component: 'config' }),
  });
  await follower.start();
  return follower;
}
