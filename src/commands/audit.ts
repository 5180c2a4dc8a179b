/**
 * `meridian audit`: the audit log through a node's admin API (`/v1/audit`), newest first: config
 * versions, overrides (set, clear, expiry), tokens, drains, each with its author and reason.
 * @module
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { AuditEntry } from '../store/types.js';
import { connect, printJson, readCommand } from './api.js';
import { act, integer } from './define.js';
import { shortTime, table } from './table.js';

/** A time the API accepts (RFC 3339), from an ISO time or a date. */
function time(text: string): string {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected a time such as 2026-05-01T12:00:00Z or 2026-05-01');
  return new Date(ms).toISOString();
}

export function registerAudit(program: Command): void {
  const cmd = readCommand(program, {
    name: 'audit',
    summary: 'the audit log, newest first: config changes, overrides, tokens, with author and reason',
    examples: ['meridian audit', 'meridian audit --author alice --since 2026-05-01', 'meridian audit --action override.set --limit 100 --json'],
  })
    .option('--since <time>', 'entries at or after this time (ISO 8601)', time)
    .option('--until <time>', 'entries before this time (ISO 8601)', time)
    .option('--author <name>', 'entries by this author (a token name, user@host for CLI writes without the API)')
    .option('--action <action>', 'entries of this action (region.weight, override.set, rollback …)')
    .option('--limit <n>', 'how many (1-10000)', integer(1, 10_000), 50);
  act(cmd, () => audit(cmd));
}

async function audit(cmd: Command): Promise<number> {
  const o = cmd.opts();
  const query = new URLSearchParams({ limit: String(o.limit) });
  for (const key of ['since', 'until', 'author', 'action'] as const) if (o[key] !== undefined) query.set(key, String(o[key]));
  const { body } = await connect(cmd).get<AuditEntry[]>(`/v1/audit?${query}`);
  if (o.json) printJson(body);
  else
    process.stdout.write(
      table(body, [
        { title: 'TIME', value: (e) => shortTime(e.time) },
        { title: 'AUTHOR', value: (e) => e.author },
        { title: 'ACTION', value: (e) => e.action },
        { title: 'TARGET', value: (e) => e.target },
        { title: 'VERSION', value: (e) => e.version, right: true },
        { title: 'REASON', value: (e) => e.reason },
        { title: 'DETAIL', value: (e) => detail(e.detail) },
      ]),
    );
  return 0;
}

function detail(d: Record<string, unknown> | undefined): string {
  if (!d) return '';
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}
