/**
 * How the daily commands print what a write did: a committed version, "unchanged", or a dry run's
 * diff and the answers that would move. The shapes are the API's (src/admin/routes/responses.ts).
 * @module
 */
import type { DiffEntry } from '../store/types.js';
import { colourOn, paint } from './table.js';

export type { DiffEntry };

interface AnswerView {
  rcode: string;
  addresses: string[];
  ttl: number;
}

export interface AnswerChanges {
  source: string;
  clients: number;
  compared: number;
  truncated: boolean;
  changed: { service: string; client: string; qtype: string; before: AnswerView | null; after: AnswerView | null }[];
}

export interface ChangeResult {
  version: number;
  action?: string;
  target?: string;
  diff: DiffEntry[];
  unchanged?: true;
  dryRun?: true;
  answers?: AnswerChanges;
}

const value = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v));

/** One line per diff entry: `~ /regions/0/weight: 100 -> 50`, `+ path: value`, `- path: value`. */
export function formatDiff(entries: readonly DiffEntry[], on = colourOn()): string {
  if (!entries.length) return '(no differences)\n';
  return (
    entries
      .map((e) => {
        if (e.op === 'add') return paint(`+ ${e.path}: ${value(e.after)}`, 'green', on);
        if (e.op === 'remove') return paint(`- ${e.path}: ${value(e.before)}`, 'red', on);
        return `${paint('~', 'yellow', on)} ${e.path}: ${value(e.before)} -> ${value(e.after)}`;
      })
      .join('\n') + '\n'
  );
}

const answer = (a: AnswerView | null): string => (a === null ? 'no answer' : a.rcode !== 'NOERROR' ? a.rcode : a.addresses.join(',') || 'NODATA');

/** The answers a dry run says would move, one line each (at most `limit`). */
export function formatAnswers(a: AnswerChanges, limit = 20): string {
  const head = `answers: ${a.changed.length} of ${a.compared} compared would change (${a.clients} clients, sample: ${a.source}${a.truncated ? ', truncated' : ''})\n`;
  const lines = a.changed.slice(0, limit).map((c) => `  ${c.service} ${c.qtype} for ${c.client}: ${answer(c.before)} -> ${answer(c.after)}\n`);
  const more = a.changed.length > limit ? `  … ${a.changed.length - limit} more (--json lists them all)\n` : '';
  return head + lines.join('') + more;
}

/** What a config write did, for people. */
export function formatChange(r: ChangeResult, what: string): string {
  if (r.dryRun) return `dry run: ${what} would change the config at version ${r.version} as follows (nothing was changed)\n${formatDiff(r.diff)}${r.answers ? formatAnswers(r.answers) : ''}`;
  if (r.unchanged) return `${what}: already so; no new version (config version ${r.version})\n`;
  return `${what}: config version ${r.version}\n${formatDiff(r.diff)}`;
}

/** An override in one line: `region/eu-west => down until 2026-05-01T12:00:00.000Z`. */
export function describeOverride(o: { scope: string; state: string; expiresAt: string | number | null }): string {
  return `${o.scope} => ${o.state}${o.expiresAt !== null ? ` until ${new Date(o.expiresAt).toISOString()}` : ''}`;
}
