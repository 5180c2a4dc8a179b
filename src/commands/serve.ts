/**
 * `meridian serve`: a DNS node, with its admin API when the config has an `admin:` section
 * (shared/design/architecture.md). SIGHUP reloads config and zones, SIGTERM/SIGINT stop.
 * @module
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { act, configOption, subcommand } from './define.js';
import { MAX_WORKERS, parseWorkers } from '../node/workers/plan.js';
import { bindDenied } from './bind.js';
import { sighup } from './signals.js';
import { VERSION } from '../version.js';
import type { Readiness } from '../obs/health-endpoints.js';
import type { Logger } from '../obs/log.js';

interface ServeOptions {
  config: string;
  /** `auto` or a count, from --workers or MERIDIAN_WORKERS; absent: dns.workers. */
  workers?: string;
}

/** `--workers`: auto or 1..MAX_WORKERS; an empty MERIDIAN_WORKERS= (an env file's blank line) is unset. */
function workersArg(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  const w = parseWorkers(text);
  if (w !== 'auto' && typeof w !== 'number') throw new InvalidArgumentError(`expected auto or a whole number from 1 to ${MAX_WORKERS}`);
  return String(w);
}

export function registerServe(program: Command): void {
  const cmd = subcommand(program, {
    name: 'serve',
    summary: 'run a DNS node (and its admin API when the config has admin:)',
    description:
      'Run a DNS node: answers for the zones and services of the config, follows the config store, probes in-process in embedded mode.\n' +
      'With more than one worker, this process keeps the control plane and the workers answer DNS (src/node/workers/README.md).\n' +
      'SIGHUP reloads config and zones (a bad file is rejected, the old data keeps answering); SIGTERM/SIGINT stop.\n' +
      'Ports below 1024 (dns.listen on 53) need CAP_NET_BIND_SERVICE (deploy/systemd/meridian.service).',
    examples: ['meridian serve', 'meridian serve --config /etc/meridian/meridian.yaml --workers 4', 'MERIDIAN_LOG_LEVEL=debug meridian serve -c zones/meridian.yaml --workers 1'],
  })
    .addOption(configOption())
    .addOption(
      new Option('--workers <n>', `DNS worker processes: auto (one per core the process may use) or 1 to ${MAX_WORKERS}; default: dns.workers (auto). See src/node/workers/README.md`)
        .env('MERIDIAN_WORKERS')
        .argParser(workersArg),
    );
  act(cmd, () => serve(cmd.opts<ServeOptions>()));
}

async function serve(opts: ServeOptions): Promise<number> {
  // Handled from the first moment, as probe and forward do: a SIGHUP while the node starts (it may
  // wait for the store) is applied once it runs instead of killing it.
  const hup = sighup();
  const [{ startDnsNode, ConfigError }, { createLogger }, { formatRedisProblem, RedisConfigError }] = await Promise.all([import('../serve.js'), import('../obs/log.js'), import('../redis/config.js')]);
  const log = createLogger();
  let node;
  try {
    node = await startDnsNode(resolve(opts.config), log, opts.workers ?? null);
  } catch (err) {
    const denied = bindDenied(err, 'dns.listen');
    if (err instanceof ConfigError || err instanceof RedisConfigError) {
      const problems = err instanceof ConfigError ? err.problems : err.problems.map(formatRedisProblem);
      for (const p of problems) process.stderr.write(p + '\n');
      log.fatal({ code: 'MERIDIAN_ERR_INVALID_CONFIG', problems: problems.length }, 'invalid configuration');
    } else if (denied) {
      process.stderr.write(`serve: ${denied}\n`);
      log.fatal({ code: 'MERIDIAN_ERR_BIND_DENIED' }, 'cannot bind a listen address');
    } else {
      log.fatal({ err }, 'cannot start');
    }
    return 1;
  }
  const addrs = node.udp.map((l) => (l.host.includes(':') ? `[${l.host}]` : l.host) + ':' + l.boundPort);
  // `ready` says the DNS sockets answer; /readyz also asks for a reachable config store and fresh
  // health, so the line says which it is and a later line when /readyz turns ready.
  const readyz = node.readiness();
  log.info({ version: VERSION, listen: addrs, zones: node.config.zones.map((z) => z.origin), readyz: readyz.reasons.length ? 'not ready' : 'ready' }, 'ready');
  if (readyz.reasons.length) logWhenReady(node.readiness, readyz.reasons, log);
  const first = node.udp[0]!;
  const zone = node.config.zones[0]!.origin.replace(/\.$/, '');
  process.stderr.write(
    `\nMeridian is answering for ${node.config.zones.map((z) => z.origin).join(', ')} on ${addrs.join(', ')} (UDP and TCP).\n` +
      `Try:  dig @${first.host} -p ${first.boundPort} www.${zone} A\n` +
      `      dig @${first.host} -p ${first.boundPort} ${zone} SOA +tcp\n\n`,
  );
  hup.ready(() => node.reload());
  await new Promise<void>((done) => {
    const stop = (): void => done();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  hup.ignore();
  log.info('stopping');
  await node.close();
  return 0;
}

/** Says, once, that /readyz is not ready yet and why, then when it turns ready (checked each second). */
function logWhenReady(readiness: Readiness, reasons: string[], log: Logger): void {
  log.warn({ reasons }, 'answering DNS; /readyz not ready yet');
  const timer = setInterval(() => {
    if (readiness().reasons.length) return;
    clearInterval(timer);
    log.info('/readyz ready');
  }, 1000);
  timer.unref();
}
