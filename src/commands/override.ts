/**
 * `meridian override list | set SCOPE STATE --reason TEXT [--for 2h] | clear SCOPE`: operator
 * overrides that outrank the probes (gdnsd's admin_state, as a command). They are stored where the
 * health plane keeps them — Redis in cluster mode, the overrides file in embedded mode, which a
 * running `meridian serve` watches — so they survive restarts.
 *
 * Every set and clear is audited with its author (src/admin/README.md, "Overrides"):
 * - through a node's admin API when one is named (`--api`, MERIDIAN_API, or `admin.listen` with a
 *   token: `--token`, `--token-file`, MERIDIAN_TOKEN or the bootstrap token file); the API writes
 *   the override and its audit entry, and the author is the token's name;
 * - otherwise, or when nothing listens at the config's API address, it writes the override and
 *   appends the audit entry to the config store itself (override-direct.ts); the author is
 *   `--author`, else `user@host`.
 * @module
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { LoadedConfig } from '../config/load.js';
import { formatDuration, parseDuration, parseScope, type ParsedScope } from '../health/overrides.js';
import type { Override } from '../health/types.js';
import { adminSourceOf, apiToken, apiUrl, callAdmin, replyFailure, targetAt, type AdminTarget, type TargetOptions } from './admin-client.js';
import { nodeOptions, printJson } from './api.js';
import { act, Failure, oneOf, subcommand, UsageError } from './define.js';
import { describeOverride, formatAnswers, type AnswerChanges } from './render.js';
import { colourOn, shortTime, stateColour, table } from './table.js';

export interface OverrideFlags extends TargetOptions {
  config: string;
  for?: string;
  reason?: string;
  author?: string;
  json?: boolean;
  dryRun?: boolean;
}

function scopeArg(text: string): ParsedScope {
  try {
    return parseScope(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^override scope: /, ''));
  }
}

/** The options every override command takes: the node (and a token on the command line, kept for scripts that pass one). */
function overrideOptions(cmd: Command): Command {
  return nodeOptions(cmd)
    .option('--token <secret>', 'the API token itself (prefer MERIDIAN_TOKEN or --token-file: a command line is visible to other users)')
    .option('--author <name>', 'author in the audit log when the config store is written directly (default: user@host; through the API it is the token’s name)');
}

export function registerOverride(program: Command): void {
  const group = subcommand(program, {
    name: 'override',
    summary: 'force a region or endpoint up, down or drained (audited), list or clear overrides',
    description:
      'Operator overrides outrank the probes. SCOPE is region/<id> or endpoint/<region>/<id>. Through the admin API when one is named\n' +
      "(author: the token's name); else straight to the config store and health plane (author: --author or user@host).",
    examples: ['meridian override list', 'meridian override set region/eu-west down --for 2h --reason "network maintenance"', 'meridian override clear region/eu-west --reason "done"'],
  });
  const list = overrideOptions(subcommand(group, { name: 'list', summary: 'the overrides in force', examples: ['meridian override list', 'meridian override list --json'] })).option(
    '--json',
    'print JSON instead of a table',
  );
  act(list, () => listOverrides(list));
  const set = overrideOptions(
    subcommand(group, {
      name: 'set',
      summary: 'force a region or endpoint up, down or drained, for a while or until cleared',
      examples: ['meridian override set region/eu-west down --for 2h --reason "network maintenance"', 'meridian override set endpoint/us-east/web-1 drained --reason "disk swap" --dry-run'],
    })
      .argument('<scope>', 'region/<id> or endpoint/<region>/<id>', scopeArg)
      .argument('<state>', 'up, down or drained', oneOf('up', 'down', 'drained')),
  )
    .requiredOption('--reason <text>', 'why: kept with the override and in the audit log')
    .option('--for <duration>', 'expires after this long, e.g. 30m, 2h, 1h30m (default: until cleared)')
    .option('--dry-run', 'through the API: the answers that would move; nothing is changed')
    .option('--json', 'print the API’s JSON');
  act(set, () => setOrClear(set, 'set'));
  const clear = overrideOptions(
    subcommand(group, { name: 'clear', summary: 'remove an override: the probes decide again', examples: ['meridian override clear region/eu-west --reason "maintenance done"'] }).argument(
      '<scope>',
      'region/<id> or endpoint/<region>/<id>',
      scopeArg,
    ),
  )
    .option('--reason <text>', 'why: recorded in the audit log')
    .option('--dry-run', 'through the API: the answers that would move; nothing is changed')
    .option('--json', 'print the API’s JSON');
  act(clear, () => setOrClear(clear, 'clear'));
}

/** `--for` as a positive duration (a negative one, `--for -5m`, included). */
function checkFor(text: string | undefined): void {
  if (text === undefined) return;
  try {
    parseDuration(text);
  } catch (err) {
    const reason = (err as Error).message.replace(/^duration: /, '');
    throw new UsageError('MERIDIAN_ERR_INVALID_DURATION', `--for ${text}: ${text.startsWith('-') ? 'a duration must be positive, e.g. 30m, 2h or 1h30m' : reason}`);
  }
}

async function loadConfig(file: string): Promise<LoadedConfig> {
  const [{ loadConfigFile }, { formatSourceError }] = await Promise.all([import('../node/config.js'), import('../zone/types.js')]);
  const loaded = loadConfigFile(file);
  if (!loaded.ok) throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${file}:\n${loaded.errors.map(formatSourceError).join('\n')}`);
  return loaded.config;
}

/**
 * The API to go through: one named with --api or MERIDIAN_API (a token is then required), or the
 * config's own when there is a token for it; null = write the store directly.
 */
function targetOf(cmd: Command, flags: OverrideFlags, config: LoadedConfig): { target: AdminTarget; named: boolean } | null {
  const source = adminSourceOf(config);
  const url = apiUrl(flags, source);
  if (!url) return null;
  const named = cmd.getOptionValueSource('api') !== undefined;
  if (!named && !apiToken(flags, source)) return null;
  return { target: targetAt(url, flags, source), named };
}

async function listOverrides(cmd: Command): Promise<number> {
  const flags = cmd.opts<OverrideFlags>();
  const config = await loadConfig(flags.config);
  const via = targetOf(cmd, flags, config);
  let list: Override[] | null = null;
  if (via) {
    const res = await callAdmin(via.target, 'GET', '/v1/overrides');
    if (res.kind === 'reply' && res.status === 200) list = (res.body as ApiOverride[]).map(fromApi);
    else if (res.kind === 'reply' || via.named || !res.refused) throw apiFailure(via.target, res);
  }
  list ??= await (await import('./override-direct.js')).readOverrides(config);
  if (flags.json) printJson(list.map(toApi));
  else process.stdout.write(overrideTable(list, Date.now()));
  return 0;
}

interface ApiOverride {
  scope: string;
  state: Override['state'];
  expiresAt: string | null;
  reason: string;
  author: string;
  createdAt: string;
}

const fromApi = (o: ApiOverride): Override => ({ ...o, scope: o.scope as Override['scope'], expiresAt: o.expiresAt === null ? null : Date.parse(o.expiresAt), createdAt: Date.parse(o.createdAt) });
const toApi = (o: Override): ApiOverride => ({ ...o, expiresAt: o.expiresAt === null ? null : new Date(o.expiresAt).toISOString(), createdAt: new Date(o.createdAt).toISOString() });

/** The overrides, sorted by scope; expired rows (still stored) are marked, not hidden. */
export function overrideTable(list: readonly Override[], now: number, on = colourOn()): string {
  if (list.length === 0) return 'no overrides\n';
  const rows = [...list].sort((a, b) => a.scope.localeCompare(b.scope));
  return table(
    rows,
    [
      { title: 'SCOPE', value: (o) => o.scope },
      { title: 'STATE', value: (o) => o.state, paint: (o) => stateColour(o.state) },
      { title: 'EXPIRES', value: (o) => (o.expiresAt === null ? 'never' : o.expiresAt <= now ? 'expired' : `in ${formatDuration(o.expiresAt - now)}`) },
      { title: 'AUTHOR', value: (o) => o.author },
      { title: 'CREATED', value: (o) => shortTime(o.createdAt) },
      { title: 'REASON', value: (o) => o.reason },
    ],
    on,
  );
}

function apiFailure(target: AdminTarget, res: Awaited<ReturnType<typeof callAdmin>>): Failure {
  if (res.kind === 'unreachable') return new Failure('MERIDIAN_ERR_API_UNREACHABLE', `cannot reach the admin API at ${target.base}: ${res.error}`);
  return replyFailure(target.base, res.status, res.body);
}

async function setOrClear(cmd: Command, verb: 'set' | 'clear'): Promise<number> {
  const [scope, state] = cmd.processedArgs as [ParsedScope, Override['state'] | undefined];
  const flags = cmd.opts<OverrideFlags>();
  checkFor(flags.for);
  const config = await loadConfig(flags.config);
  if (verb === 'set') {
    const known = scope.kind === 'region' ? config.routing.regions.some((r) => r.id === scope.region) : config.routing.endpoints.some((e) => e.key === scope.key);
    // Not a bad command line but a name the config lacks: a failure (exit 1), as the API's NOT_FOUND is.
    if (!known) throw new Failure('MERIDIAN_ERR_NOT_FOUND', `${scope.scope} is not in the config`);
  }
  const via = targetOf(cmd, flags, config);
  if (via) {
    const done = await viaApi(via.target, verb, scope, state, flags);
    if (done !== null) return done;
    if (via.named) throw new Failure('MERIDIAN_ERR_API_UNREACHABLE', `cannot reach the admin API at ${via.target.base}: connection refused; nothing was changed`);
    process.stderr.write(`override: nothing listens at the admin API (${via.target.base}); writing to the config store directly\n`);
  }
  if (flags.dryRun) throw new UsageError('MERIDIAN_ERR_USAGE', '--dry-run needs the admin API (the node computes the answers that would move)');
  const { writeDirect } = await import('./override-direct.js');
  return writeDirect(config, verb, scope, state, flags);
}

/** Through the node's admin API; null when nothing listens there (nothing was done). */
async function viaApi(target: AdminTarget, verb: 'set' | 'clear', scope: ParsedScope, state: string | undefined, flags: OverrideFlags): Promise<number | null> {
  const query = new URLSearchParams(flags.dryRun ? { dryRun: 'true' } : {});
  const path = `/v1/overrides/${scope.scope}`;
  if (verb === 'clear') query.set('reason', flags.reason ?? '');
  const res =
    verb === 'set'
      ? await callAdmin(target, 'PUT', `${path}${query.size ? `?${query}` : ''}`, { state, reason: flags.reason, ...(flags.for ? { for: flags.for } : {}) })
      : await callAdmin(target, 'DELETE', `${path}?${query}`);
  if (res.kind === 'unreachable' && res.refused) return null;
  if (res.kind === 'unreachable' || res.status !== 200) throw apiFailure(target, res);
  if (flags.json) {
    printJson(res.body);
    return 0;
  }
  if (flags.dryRun) {
    const r = res.body as { before: ApiOverride | null; after: ApiOverride | null; answers: AnswerChanges };
    process.stdout.write(
      `dry run (nothing was changed): ${r.before ? describeOverride(r.before) : `no override on ${scope.scope}`} -> ${r.after ? describeOverride(r.after) : 'cleared'}\n${formatAnswers(r.answers)}`,
    );
    return 0;
  }
  if (flags.author) process.stderr.write(`override: --author is not used through the admin API; the token's name is the author\n`);
  process.stdout.write(verb === 'set' ? `${describeOverride(res.body)} (admin API, audited as ${res.body.author})\n` : `cleared ${scope.scope} (admin API)\n`);
  return 0;
}
