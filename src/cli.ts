#!/usr/bin/env node
/**
 * `meridian <subcommand>`: one program, one role per subcommand (shared/design/architecture.md).
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadZoneText } from './zone/load.js';
import { createLogger } from './obs/log.js';
import { geoWarnings } from './node/services.js';
import { formatRedisProblem, RedisConfigError } from './redis/config.js';
import { ConfigError, startDnsNode } from './serve.js';
import { canonicalOrigin } from './zone/parse.js';
import { formatSourceError } from './zone/types.js';
import { VERSION } from './version.js';
import { loadConfigFile } from './node/config.js';
import { sighup } from './commands/signals.js';
import { startProblems } from './node/start-rules.js';

const USAGE = `meridian ${VERSION} — global DNS traffic manager

Usage:
  meridian serve [--config FILE]            run a DNS node (default config: zones/meridian.yaml)
  meridian check [--config FILE]            validate the config and every zone file it names, and
                                            what serve refuses at start (fd budget, admin tokens)
  meridian check --zone FILE --origin NAME  validate one zone file
  meridian explain NAME CLIENT-IP [--ecs PREFIX] [--type A|AAAA] [--json] [--config FILE]
                                            the routing decision for one client, step by step
  meridian probe --region ID [--vantage NAME] [--metrics HOST:PORT] [--config FILE]
                                            probe sidecar: checks every endpoint, publishes to Redis
  meridian forward --region ID [--metrics HOST:PORT] [--id NAME] [--config FILE]
                                            L4 forwarder of a region; SIGTERM drains, SIGHUP reloads
  meridian override list | set SCOPE up|down|drained [--for 2h] --reason TEXT | clear SCOPE [--reason TEXT]
           [--token SECRET] [--author NAME] [--config FILE]
                                            operator overrides (SCOPE: region/ID or endpoint/REGION/ID), audited:
                                            through the admin API when there is one (author: the token's name),
                                            else in the config store (author: --author or user@host)
  meridian token new --name NAME --role viewer|operator|admin
                                            an admin API token for admin.tokens (prints secret + sha256)
  meridian version

Problems are printed as file:line: reason; check exits 1 when there are any. Warnings (valid config
that will not do what it says, e.g. subdivision rules with a country-only geo database) are printed
as file:line: warning: reason and do not change the exit code.
The admin API (admin.listen, default 127.0.0.1:8053) edits zones, regions and services as versioned
config; see src/admin/README.md. With an admin: section the YAML's zones/regions/services only seed
an empty store.
Signals (serve): SIGHUP reloads config and zones (a bad file is rejected, old data keeps answering);
SIGTERM/SIGINT stop. A SIGHUP sent while serve, probe or forward starts is applied once it runs.`;

const DEFAULT_CONFIG = 'zones/meridian.yaml';

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  // Handled from the first moment, as probe and forward do: a SIGHUP while the node starts (it may
  // wait for the store) is applied once it runs instead of killing it.
  const hup = sighup();
  const log = createLogger();
  const configPath = resolve(values.config ?? DEFAULT_CONFIG);
  let node;
  try {
    node = await startDnsNode(configPath, log);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RedisConfigError) {
      const problems = err instanceof ConfigError ? err.problems : err.problems.map(formatRedisProblem);
      for (const p of problems) process.stderr.write(p + '\n');
      log.fatal({ code: 'MERIDIAN_ERR_INVALID_CONFIG', problems: problems.length }, 'invalid configuration');
    } else {
      log.fatal({ err }, 'cannot start');
    }
    return 1;
  }
  const addrs = node.udp.map((l) => (l.host.includes(':') ? `[${l.host}]` : l.host) + ':' + l.boundPort);
  log.info({ version: VERSION, listen: addrs, zones: node.config.zones.map((z) => z.origin) }, 'ready');
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

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, zone: { type: 'string' }, origin: { type: 'string' } },
  });
  let problems: string[];
  if (values.zone) {
    if (!values.origin) {
      process.stderr.write('check --zone needs --origin NAME\n');
      return 2;
    }
    const file = resolve(values.zone);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      process.stderr.write(`${file}:0: cannot read: ${(err as NodeJS.ErrnoException).code}\n`);
      return 1;
    }
    const zone = loadZoneText(text, file, canonicalOrigin(values.origin));
    problems = Array.isArray(zone) ? zone.map(formatSourceError) : [];
  } else {
    const loaded = loadConfigFile(values.config ?? DEFAULT_CONFIG);
    problems = loaded.ok ? [] : loaded.errors.map(formatSourceError);
    if (loaded.ok) {
      const { config } = loaded;
      for (const z of config.zones) process.stdout.write(`zone ${z.origin}: ${z.nodes.size} names\n`);
      const warnings = config.warnings.map((w) => `${w.file}:${w.line}: warning: ${w.reason}`);
      // The geo database as serve would open it: one it cannot open is a problem, one that lacks
      // what the rules need is a warning.
      const geo = geoWarnings(config);
      if (typeof geo === 'string') problems.push(`${config.file}:0: ${geo}`);
      else warnings.push(...geo.map((w) => `${config.file}:${config.subdivisionLines?.get(w.service) ?? 0}: warning: ${w.reason}`));
      // What serve and forward refuse at start beyond the YAML: the fd budget, the store, admin tokens.
      const start = await startProblems(config);
      problems.push(...start.problems);
      warnings.push(...start.warnings);
      for (const w of warnings) process.stderr.write(w + '\n');
    }
  }
  for (const p of problems) process.stderr.write(p + '\n');
  process.stdout.write(problems.length ? `${problems.length} problem(s)\n` : 'ok\n');
  return problems.length ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
    case 'explain':
      return (await import('./commands/explain.js')).explainCommand(rest, DEFAULT_CONFIG);
    case 'probe':
      return (await import('./commands/probe.js')).probeCommand(rest, DEFAULT_CONFIG);
    case 'forward':
      return (await import('./commands/forward.js')).forwardCommand(rest, DEFAULT_CONFIG);
    case 'override':
      return (await import('./commands/override.js')).overrideCommand(rest, DEFAULT_CONFIG);
    case 'token':
      return (await import('./commands/token.js')).tokenCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write(VERSION + '\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown subcommand "${cmd}"\n\n${USAGE}\n`);
      return 2;
  }
}

/**
 * Once a subcommand is done the process exits, whatever is still open: a role that failed to start
 * has closed its resources (src/lifecycle/stack.ts), but a client library's reconnect timer must
 * never keep a failed process alive where a supervisor waits for it to exit (Restart=on-failure).
 */
function exit(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

/**
 * Writes to stdout/stderr are synchronous here (pino's default destination, and pipes and files on
 * Linux), so nothing is lost by exiting soon; a failed start reaches its supervisor sooner (it
 * was 2 s, a fifth of the 10 s issue 14 allows a fatal start, spent on a client's reconnect timer).
 */
const EXIT_GRACE_MS = 250;

main(process.argv.slice(2)).then(exit, (err: unknown) => {
  // Settings the environment makes invalid (REDIS_URL, credentials): the problem, not a stack.
  if (err instanceof RedisConfigError) for (const p of err.problems) process.stderr.write(formatRedisProblem(p) + '\n');
  else process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  exit(1);
});
