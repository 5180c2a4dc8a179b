/**
 * The client the daily commands (`region`, `endpoint`, `versions`, `status` …) share: their common
 * options, the node they talk to, and requests whose failures become one coded line and exit 1 —
 * the API's own `MERIDIAN_ERR_*` code and message, or MERIDIAN_ERR_API_UNREACHABLE.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { AdminSchema } from '../admin/config.js';
import { apiUrl, callAdmin, DEFAULT_API, replyFailure, targetAt, type AdminSource, type AdminTarget, type TargetOptions } from './admin-client.js';
import { DEFAULT_CONFIG, Failure, subcommand, versionNumber, type CommandSpec } from './define.js';

export interface ApiCommandOptions extends TargetOptions {
  config: string;
  json?: boolean;
}

/** What a config write takes besides its body: recorded reason, version guard, rehearsal. */
export interface WriteOptions {
  reason?: string | undefined;
  ifMatch?: number | undefined;
  dryRun?: boolean | undefined;
}

/** `--api`, `--token-file` and `--config` (the options that say which node, and how to authenticate). */
export function nodeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--api <url>', `the node's admin API (default: admin.listen of --config, else ${DEFAULT_API})`).env('MERIDIAN_API'))
    .option('--token-file <file>', 'file holding the API token (default: MERIDIAN_TOKEN, else the bootstrap token file of the config’s admin.dataDir)')
    .addOption(new Option('-c, --config <file>', 'config naming the node: admin.listen, admin.tls and admin.dataDir (read when it exists)').default(DEFAULT_CONFIG));
}

/** The node options and `--json`, for commands that print what the API returns. */
export function apiOptions(cmd: Command): Command {
  return nodeOptions(cmd).option('--json', 'print the API’s JSON (for scripts) instead of a table');
}

/** `--reason`, `--if-match` and `--dry-run`, for commands that write a config version. */
export function writeOptions(cmd: Command): Command {
  return cmd
    .option('--reason <text>', 'why: recorded in the version and the audit log')
    .option('--if-match <version>', 'only if the config is still at this version (else MERIDIAN_ERR_PRECONDITION_FAILED, nothing changes)', versionNumber)
    .option('--dry-run', 'show what would change (the diff and the answers that would move); change nothing');
}

/** A command that reads through a node's API: its spec, the node options and `--json`. */
export function readCommand(parent: Command, spec: CommandSpec): Command {
  return apiOptions(subcommand(parent, spec));
}

/** A command that writes a config version through a node's API: `readCommand` plus the write options. */
export function writeCommand(parent: Command, spec: CommandSpec): Command {
  return writeOptions(readCommand(parent, spec));
}

/**
 * What the config says about its node: only the `admin:` keys a client needs (listen, dataDir,
 * tls.cert), read without loading zones, so a client is not stopped by a problem elsewhere in it.
 * The default config is skipped when it does not exist; a named one must.
 */
export function readAdminSource(file: string, named: boolean): AdminSource | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!named && code === 'ENOENT') return null;
    throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${file}: cannot read it (${code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const admin = (doc as { admin?: unknown } | null)?.admin;
  if (admin === undefined || admin === null) return null;
  const a = admin as { listen?: unknown; dataDir?: unknown; tls?: { cert?: unknown } };
  const listen = a.listen === undefined ? AdminSchema.properties.listen.default : a.listen;
  if (listen !== null && typeof listen !== 'string') throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${file}: admin.listen must be host:port or null`);
  const base = dirname(resolvePath(file));
  const dataDir = typeof a.dataDir === 'string' ? a.dataDir : AdminSchema.properties.dataDir.default;
  const cert = typeof a.tls?.cert === 'string' ? resolvePath(base, a.tls.cert) : null;
  return { file: resolvePath(file), listen, dataDir: resolvePath(base, dataDir), tlsCert: cert };
}

/** The node a daily command talks to: `--api`, else the config's, else the default address. */
export function connect(cmd: Command): AdminApi {
  const opts = cmd.opts<ApiCommandOptions>();
  const source = readAdminSource(opts.config, cmd.getOptionValueSource('config') !== 'default');
  const url = apiUrl(opts, source) ?? new URL(DEFAULT_API);
  return new AdminApi(targetAt(url, opts, source));
}

/** Requests to one node's API; every failure is a Failure (coded line, exit 1). */
export class AdminApi {
  constructor(readonly target: AdminTarget) {}

  /** A GET: the body, and the version its ETag names (null when it carries none). */
  async get<T>(path: string): Promise<{ body: T; version: number | null }> {
    const r = await this.call('GET', path);
    return { body: r.body as T, version: r.etag };
  }

  /** A write: `?reason=` and `?dryRun=` in the query, `If-Match` from `ifMatch`. */
  async write<T>(method: 'PUT' | 'POST' | 'DELETE', path: string, body: unknown, w: WriteOptions = {}): Promise<T> {
    const query = new URLSearchParams();
    if (w.reason) query.set('reason', w.reason);
    if (w.dryRun) query.set('dryRun', 'true');
    const sep = path.includes('?') ? '&' : '?';
    const full = query.size ? `${path}${sep}${query}` : path;
    const headers = w.ifMatch !== undefined ? { 'if-match': `"${w.ifMatch}"` } : undefined;
    return (await this.call(method, full, body, headers)).body as T;
  }

  private async call(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
    const r = await callAdmin(this.target, method, path, body, headers ? { headers } : {});
    if (r.kind === 'unreachable') {
      const maybe = method !== 'GET' && !r.refused ? '; the change may or may not have been made: check `meridian versions` or `meridian audit`' : '';
      const hint = r.refused ? ' (is `meridian serve` running there with an admin: section? --api URL or MERIDIAN_API names another node)' : '';
      throw new Failure('MERIDIAN_ERR_API_UNREACHABLE', `cannot reach the admin API at ${this.target.base}: ${r.error}${hint}${maybe}`);
    }
    if (r.status >= 400) {
      throw replyFailure(this.target.base, r.status, r.body);
    }
    return r;
  }
}

/** JSON for `--json`: the API's body as it came, indented. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
