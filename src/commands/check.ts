/**
 * `meridian check`: validates the config and every zone file it names (or one zone file), as
 * `gdnsd checkconf` does. Problems are `file:line: reason` and exit 1; warnings (a valid config that
 * will not do what it says) are `file:line: warning: reason` and leave the exit code alone.
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { act, configOption, subcommand, UsageError } from './define.js';

interface CheckOptions {
  config: string;
  zone?: string;
  origin?: string;
}

export function registerCheck(program: Command): void {
  const cmd = subcommand(program, {
    name: 'check',
    summary: 'validate the config and every zone file it names, or one zone file',
    description:
      'Validate the config and every zone file it names, and what serve refuses at start (fd budget, admin tokens);\n' +
      'or one zone file with --zone and --origin.\n' +
      'Problems are printed as file:line: reason and exit 1; warnings as file:line: warning: reason (exit code unchanged):\n' +
      'a zone with one NS, an NS or PTR target missing its trailing dot, a TTL below 5 s, a service with one region,\n' +
      'an admin API off loopback without admin.tls.',
    examples: ['meridian check', 'meridian check --config /etc/meridian/meridian.yaml', 'meridian check --zone zones/gslb.example.com.zone --origin gslb.example.com'],
  })
    .addOption(configOption())
    .option('--zone <file>', 'check this one zone file instead of the config (needs --origin)')
    .option('--origin <name>', 'the origin of the --zone file');
  act(cmd, () => check(cmd.opts<CheckOptions>()));
}

async function check(opts: CheckOptions): Promise<number> {
  if (opts.zone !== undefined && opts.origin === undefined) throw new UsageError('MERIDIAN_ERR_USAGE', '--zone needs --origin NAME');
  const problems = opts.zone !== undefined ? await checkZone(opts.zone, opts.origin!) : await checkConfig(opts.config);
  for (const p of problems) process.stderr.write(p + '\n');
  process.stdout.write(problems.length ? `${problems.length} problem(s)\n` : 'ok\n');
  return problems.length ? 1 : 0;
}

async function checkZone(zoneFile: string, origin: string): Promise<string[]> {
  const [{ loadZoneText }, { canonicalOrigin }, { formatSourceError }] = await Promise.all([import('../zone/load.js'), import('../zone/parse.js'), import('../zone/types.js')]);
  const file = resolve(zoneFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return [`${file}: cannot read: ${(err as NodeJS.ErrnoException).code}`];
  }
  const zone = loadZoneText(text, file, canonicalOrigin(origin));
  return Array.isArray(zone) ? zone.map(formatSourceError) : [];
}

async function checkConfig(configFile: string): Promise<string[]> {
  const [{ loadConfigFile }, { geoWarnings }, { formatSourceError }, { startProblems }, { lintConfig }] = await Promise.all([
    import('../node/config.js'),
    import('../node/services.js'),
    import('../zone/types.js'),
    import('../node/start-rules.js'),
    import('../node/lint.js'),
  ]);
  const loaded = loadConfigFile(configFile);
  if (!loaded.ok) return loaded.errors.map(formatSourceError);
  const { config } = loaded;
  const problems: string[] = [];
  for (const z of config.zones) process.stdout.write(`zone ${z.origin}: ${z.nodes.size} names\n`);
  const warnings = config.warnings.map((w) => `${w.file}:${w.line}: warning: ${w.reason}`);
  // The geo database as serve would open it: one it cannot open is a problem, one that lacks
  // what the rules need is a warning.
  const geo = geoWarnings(config);
  if (typeof geo === 'string') problems.push(`${config.file}: ${geo}`);
  else warnings.push(...geo.map((w) => `${config.file}:${config.subdivisionLines?.get(w.service) ?? 0}: warning: ${w.reason}`));
  // What serve and forward refuse at start beyond the YAML: the fd budget, the store, admin tokens.
  const start = await startProblems(config);
  problems.push(...start.problems);
  warnings.push(...start.warnings);
  // What is valid but probably not meant (one NS, a target without its dot, a tiny TTL, one region).
  warnings.push(...lintConfig(config));
  for (const w of warnings) process.stderr.write(w + '\n');
  return problems;
}
