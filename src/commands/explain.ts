/**
 * `meridian explain NAME CLIENT-IP [--ecs PREFIX]`: the decision for one client, step by step, and
 * which view it came from.
 *
 * When a node's API is named (`--api`, MERIDIAN_API, or the config's `admin.listen`) it asks that
 * node (`GET /v1/explain`): the live decision, with the node's config version, probe results and
 * geo database. If that node cannot be asked (nothing listens, no token, a TLS verification
 * failure, a timeout) explain fails (exit 1) rather than answer from another view, which may be
 * stale; `--offline` computes the decision here instead (explain-local.ts) and says so loudly on
 * stderr. Without an API in the config it computes it here. A node named by `--api` or MERIDIAN_API
 * needs no local config (one that exists gives the token and TLS trust), as the daily commands do.
 * @module
 */
import { isIP } from 'node:net';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { LoadedConfig } from '../config/load.js';
import type { Explanation } from '../routing/explain.js';
import { existsSync } from 'node:fs';
import { adminSourceOf, apiUrl, callAdmin, replyFailure, targetAt, type AdminSource, type TargetOptions } from './admin-client.js';
import { readAdminSource } from './api.js';
import { act, configOption, Failure, subcommand, UsageError } from './define.js';
import type { ExplainQuery } from './explain-local.js';
import { clientFromPrefix } from '../routing/client.js';

interface ExplainOptions extends TargetOptions {
  config: string;
  ecs?: string;
  type?: 'A' | 'AAAA';
  json?: boolean;
  offline?: boolean;
}

/** Which view an explanation came from; `--json` carries it as `view`. */
type View = { kind: 'node'; api: string; version: number } | { kind: 'in-process'; file: string; version: number | null; health: string };

export function registerExplain(program: Command): void {
  const cmd = subcommand(program, {
    name: 'explain',
    summary: 'the routing decision for one client, step by step (asks the node, or --offline)',
    description:
      "The routing decision for one client, step by step, and the view it came from. With a node's API (--api, MERIDIAN_API or the\n" +
      "config's admin.listen) the node is asked: its live config version, probe results and geo database. If it cannot be asked,\n" +
      'explain fails (exit 1) instead of answering from a view that may be stale; --offline computes the decision here from the\n' +
      "config (the store's head version, the geo database, health without the node's probes) and warns on stderr.",
    examples: [
      'meridian explain www.gslb.example.com 192.0.2.1',
      'meridian explain www.gslb.example.com 192.0.2.1 --ecs 81.2.69.0/24 --type AAAA --json',
      'meridian explain www.gslb.example.com 192.0.2.1 --api https://dns1.example.net:8053',
      'meridian explain www.gslb.example.com 192.0.2.1 --offline',
    ],
  })
    .argument('<name>', 'the name asked (a service, or a name whose CNAMEs lead to one)')
    .argument('<client-ip>', 'the resolver (or client) address the query comes from', ipAddress)
    .option('--ecs <prefix>', 'the client subnet the query carries (EDNS Client Subnet), e.g. 81.2.69.0/24', ecsPrefix)
    .addOption(new Option('--type <qtype>', 'the query type (default: by the client address family)').choices(['A', 'AAAA']))
    .option('--json', 'print the explanation as JSON, with the view it came from')
    .addOption(configOption())
    .addOption(new Option('--api <url>', "ask this node's admin API (default: admin.listen of --config)").env('MERIDIAN_API'))
    .option('--token-file <file>', 'file holding the API token (default: MERIDIAN_TOKEN, else the bootstrap token file of the config’s admin.dataDir)')
    .option('--offline', 'compute the decision in this process, without asking a node (warns: it may differ from the live one)');
  act(cmd, () => explainCommand(cmd));
}

/** `--ecs`: checked here, so a bad one is a usage error (exit 2) like every other bad argument. */
function ecsPrefix(text: string): string {
  const c = clientFromPrefix(text);
  if (typeof c === 'string') throw new InvalidArgumentError(c);
  return text;
}

function ipAddress(text: string): string {
  if (isIP(text) === 0) throw new InvalidArgumentError(`"${text}" is not an IP address`);
  return text;
}

async function explainCommand(cmd: Command): Promise<number> {
  const [name, ip] = cmd.args as [string, string];
  const opts = cmd.opts<ExplainOptions>();
  if (opts.offline && cmd.getOptionValueSource('api') === 'cli') throw new UsageError('MERIDIAN_ERR_USAGE', '--offline and --api contradict each other: --offline asks no node');
  const q: ExplainQuery = { name, ip, ...(opts.ecs !== undefined ? { ecs: opts.ecs } : {}), ...(opts.type ? { qtype: opts.type } : {}) };
  // A node named on the command line needs no local config (only its token and TLS keys, when one exists).
  if (!opts.offline && opts.api !== undefined) {
    const source = readAdminSource(opts.config, cmd.getOptionValueSource('config') !== 'default');
    const url = apiUrl(opts, source)!;
    const { explanation, version } = await askNode(url, opts, source, q, source?.file ?? null);
    return await print(explanation, { kind: 'node', api: url.origin, version }, opts.json);
  }
  const [{ loadConfigFile }, { formatSourceError }] = await Promise.all([import('../node/config.js'), import('../zone/types.js')]);
  const loaded = loadConfigFile(opts.config);
  if (!loaded.ok) {
    if (!existsSync(opts.config)) throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${opts.config}: no such config: name the node with --api URL (or MERIDIAN_API), or a config with --config FILE`);
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const source = adminSourceOf(loaded.config);
  const url = opts.offline ? null : apiUrl(opts, source);
  if (url) {
    const { explanation, version } = await askNode(url, opts, source, q, loaded.config.file);
    return await print(explanation, { kind: 'node', api: url.origin, version }, opts.json);
  }
  if (opts.offline) warnOffline(opts, loaded.config);
  const { explainLocally } = await import('./explain-local.js');
  const local = await explainLocally(loaded.config, q);
  // The codes the API gives the same problems (src/admin/routes/explain.ts).
  if (!local.result.ok) throw new Failure(/is not a service/.test(local.result.error) ? 'MERIDIAN_ERR_NOT_FOUND' : 'MERIDIAN_ERR_VALIDATION', local.result.error);
  return await print(local.result.explanation, { kind: 'in-process', file: loaded.config.file, version: local.version, health: local.health }, opts.json);
}

/** The node's live decision; a node that cannot be asked is a Failure, never a fallback. */
async function askNode(url: URL, opts: ExplainOptions, source: AdminSource | null, q: ExplainQuery, file: string | null): Promise<{ explanation: Explanation; version: number }> {
  const offline = `not answering from another view, which may be stale; start the node, fix --api, or pass --offline to compute it here from ${file ?? 'a config (--config FILE)'}`;
  let target;
  try {
    target = targetAt(url, opts, source);
  } catch (err) {
    if (err instanceof Failure) throw new Failure(err.code, `${err.message}; ${offline}`);
    throw err;
  }
  const params = new URLSearchParams({ name: q.name, ip: q.ip, ...(q.ecs !== undefined ? { ecs: q.ecs } : {}), ...(q.qtype ? { type: q.qtype } : {}) });
  const res = await callAdmin(target, 'GET', `/v1/explain?${params}`);
  if (res.kind === 'unreachable') throw new Failure('MERIDIAN_ERR_API_UNREACHABLE', `cannot reach the admin API at ${target.base}: ${res.error}; ${offline}`);
  if (res.status !== 200) throw replyFailure(target.base, res.status, res.body);
  const { version, ...explanation } = res.body as Explanation & { version: number };
  return { explanation, version };
}

/** `--offline` is loud: a decision made here may not be the one the node makes (no probe results of its own). */
function warnOffline(opts: ExplainOptions, config: LoadedConfig): void {
  let node: string;
  try {
    node = apiUrl(opts, adminSourceOf(config))?.origin ?? 'any node';
  } catch {
    node = 'the node of the config';
  }
  process.stderr.write(
    `explain: WARNING: --offline: computed in this process from ${config.file}, NOT asked of ${node}.\n` +
      'explain: WARNING: health here is not what a node sees (no probe results of its own), so the live answer may differ.\n',
  );
}

async function print(explanation: Explanation, view: View, json: boolean | undefined): Promise<number> {
  if (json) process.stdout.write(JSON.stringify({ ...explanation, view }, null, 2) + '\n');
  else process.stdout.write(`${(await import('../routing/explain.js')).formatExplanation(explanation)}\n${viewLine(view)}\n`);
  return 0;
}

function viewLine(v: View): string {
  if (v.kind === 'node') return `view: node API at ${v.api}, config version ${v.version} (live)`;
  const version = v.version === null ? 'the YAML (no config store)' : `config store version ${v.version}`;
  return `view: in-process from ${v.file}, ${version}; health: ${v.health}`;
}
