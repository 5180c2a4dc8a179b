/**
 * `meridian forward --region R`: the L4 forwarder of one region (src/forward/README.md). It reads
 * health from the health plane (Redis in cluster mode; in embedded mode it probes in-process, as
 * `serve` does), publishes load reports, and on SIGTERM/SIGINT drains: no new connections, open
 * ones get `forward.drainDeadlineMs` to finish, then it exits. A second signal stops at once.
 * SIGHUP reloads the config (pools, weights, relay targets; listen addresses need a restart); a
 * SIGHUP while it starts is applied once it runs, one while it drains is ignored.
 * @module
 */
import { parseArgs } from 'node:util';
import { parseListen } from '../config/load.js';
import { startForwardRole } from '../node/forward.js';
import { createLogger } from '../obs/log.js';
import { formatSourceError } from '../zone/types.js';
import { loadConfigFile } from '../node/config.js';
import { sighup } from './signals.js';

export async function forwardCommand(args: string[], defaultConfig: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, region: { type: 'string' }, metrics: { type: 'string' }, id: { type: 'string' } },
  });
  const hup = sighup();
  const log = createLogger();
  const loaded = loadConfigFile(values.config ?? defaultConfig);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const config = loaded.config;
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
  let role;
  try {
    role = await startForwardRole(config, { region, metrics: metricsAt, ...(values.id ? { id: values.id } : {}) }, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start the forwarder');
    return 1;
  }
  const fwd = role.forwarder;
  log.info({ region, mode: role.plane.mode, configVersion: role.follower?.version ?? null }, 'ready');
  const running = role;
  hup.ready(() => running.reload());
  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  hup.ignore();
  // A second signal means "now": close whatever the drain is still waiting for.
  const hurry = (): void => void fwd.close();
  process.once('SIGTERM', hurry);
  process.once('SIGINT', hurry);
  const result = await fwd.drain(role.config.forward.drainDeadlineMs);
  log.info({ remaining: result.remaining, elapsedMs: result.elapsedMs }, 'stopping');
  await role.close();
  return 0;
}
