/**
 * `meridian forward --region R`: the L4 forwarder of one region (src/forward/README.md). It reads
 * health from the health plane (Redis in cluster mode; in embedded mode it probes in-process, as
 * `serve` does), publishes load reports, and on SIGTERM/SIGINT drains: no new connections, open
 * ones get `forward.drainDeadlineMs` to finish, then it exits. A second signal stops at once.
 * SIGHUP reloads the config (pools, weights, relay targets; listen addresses need a restart); a
 * SIGHUP while it starts is applied once it runs, one while it drains is ignored.
 * @module
 */
import type { Command } from 'commander';
import { act, configOption, subcommand, UsageError } from './define.js';
import { bindDenied } from './bind.js';
import { sighup } from './signals.js';

interface ForwardOptions {
  config: string;
  region: string;
  metrics?: string;
  id?: string;
}

export function registerForward(program: Command): void {
  const cmd = subcommand(program, {
    name: 'forward',
    summary: 'L4 forwarder of a region; SIGTERM drains, SIGHUP reloads',
    description:
      "L4 forwarder of one region: relays connections to the region's healthy backends and publishes load reports.\n" +
      'SIGTERM/SIGINT drain (open connections get forward.drainDeadlineMs; a second signal stops at once); SIGHUP reloads.',
    examples: ['meridian forward --region eu-west', 'meridian forward --region us-east --id fwd-1 --metrics 127.0.0.1:9155 --config /etc/meridian/meridian.yaml'],
  })
    .requiredOption('--region <id>', 'the region this forwarder serves (a configured region)')
    .option('--id <name>', 'forwarder instance id in load reports (a region may run several)')
    .option('--metrics <host:port>', 'serve Prometheus metrics here')
    .addOption(configOption());
  act(cmd, () => forward(cmd.opts<ForwardOptions>()));
}

async function forward(opts: ForwardOptions): Promise<number> {
  const hup = sighup();
  const [{ parseListen }, { loadConfigFile }, { startForwardRole }, { createLogger }, { formatSourceError }] = await Promise.all([
    import('../config/listen.js'),
    import('../node/config.js'),
    import('../node/forward.js'),
    import('../obs/log.js'),
    import('../zone/types.js'),
  ]);
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
  if (config.forward.listeners.length === 0) throw new UsageError('MERIDIAN_ERR_USAGE', 'no listeners configured (forward.listeners)');
  const metricsAt = opts.metrics ? parseListen(opts.metrics) : null;
  if (typeof metricsAt === 'string') throw new UsageError('MERIDIAN_ERR_USAGE', `--metrics: ${metricsAt}`);
  let role;
  try {
    role = await startForwardRole(config, { region, metrics: metricsAt, ...(opts.id ? { id: opts.id } : {}) }, log);
  } catch (err) {
    const denied = bindDenied(err, 'forward.listeners[].listen');
    if (denied) process.stderr.write(`forward: ${denied}\n`);
    log.fatal({ err: (err as Error).message, ...(denied ? { code: 'MERIDIAN_ERR_BIND_DENIED' } : {}) }, 'cannot start the forwarder');
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
