/**
 * What every write route shares: If-Match parsing, the `dryRun`/`reason`/`sample` query, the reply
 * shapes (committed, unchanged, dry run) with the new version as ETag.
 * @module
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeOutcome, ChangeRequest } from '../change.js';
import { AdminError, ErrorBodySchema } from '../errors.js';
import type { Role } from '../../store/types.js';

/**
 * `?dryRun=` on a write that cannot be tried without doing it (tokens: the secret is the change).
 * Declared so that clients see it in /openapi.json; `true` is refused by app.ts before the handler.
 */
export const DryRunRefused = Type.Optional(Type.Boolean({ description: 'not supported here: true (or 1) is refused with 400 MERIDIAN_ERR_DRY_RUN_UNSUPPORTED and nothing is changed' }));

/** `?dryRun=` on a write that answers what it would do and changes nothing (config versions, overrides). */
export const DryRunHonoured = Type.Optional(Type.Boolean({ description: 'true or 1: validate and show the diff and the answers that would change; commit nothing (false or 0: a real write)' }));

/** `?sample=`: the clients a dry run compares answers for. */
export const DryRunSample = Type.Optional(Type.String({ maxLength: 64_000, description: 'dry run: comma-separated client addresses to compare answers for' }));

export const WriteQuery = Type.Object(
  {
    dryRun: DryRunHonoured,
    reason: Type.Optional(Type.String({ maxLength: 1000, description: 'recorded in the version and the audit log' })),
    sample: DryRunSample,
  },
  { additionalProperties: false },
);

export interface WriteQueryType {
  dryRun?: boolean;
  reason?: string;
  sample?: string;
}

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 100, description: 'the config version the change was made against (the ETag of a GET); a stale one gets 412' })),
});

/** Responses every route may give besides its own success. */
export const errorResponses = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
  412: ErrorBodySchema,
  429: ErrorBodySchema,
  503: ErrorBodySchema,
};

export const etag = (version: number): string => `"${version}"`;

/** `"12"`, `W/"12"` or `12` -> 12; `*` or absent -> undefined (apply to whatever is current). */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = (Array.isArray(header) ? header[0]! : header).trim();
  if (text === '*') return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(text);
  if (!m) throw new AdminError('MERIDIAN_ERR_VALIDATION', 'If-Match must be a config version such as "12" (the ETag of a GET)', 'headers/if-match');
  return Number(m[1]);
}

/**
 * A route's least role; a write that cannot be dry-run says so (`dryRun: 'refused'`), and app.ts
 * then answers `?dryRun=true` with 400 MERIDIAN_ERR_DRY_RUN_UNSUPPORTED before the handler runs.
 */
export function routeConfig(role: Role, opts: { dryRun?: 'refused' } = {}): { role: Role; dryRun?: 'refused' } {
  return { role, ...opts };
}

/** `a,b , c` → the addresses a dry run's answer comparison is asked for. */
export function sampleOf(text: string | undefined): string[] | undefined {
  return text
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

/** Builds the change request of a write route from its HTTP request. */
export function changeOf(req: FastifyRequest, action: string, target: string, edit: ChangeRequest['edit']): ChangeRequest {
  const q = (req.query ?? {}) as WriteQueryType;
  return {
    ifMatch: parseIfMatch(req.headers['if-match']),
    dryRun: q.dryRun === true,
    ...(q.sample ? { sample: sampleOf(q.sample)! } : {}),
    author: req.principal?.name ?? 'unknown',
    reason: q.reason?.trim() || (req.headers['x-meridian-reason'] as string | undefined)?.slice(0, 1000) || '',
    action,
    target,
    edit,
  };
}

/** Sends the outcome of a change: 200 (or `createdStatus`) with the version as ETag. */
export function sendOutcome(reply: FastifyReply, outcome: ChangeOutcome, createdStatus = 200): FastifyReply {
  switch (outcome.kind) {
    case 'committed':
      return reply
        .status(createdStatus)
        .header('etag', etag(outcome.record.version))
        .send({ version: outcome.record.version, action: outcome.record.action, target: outcome.record.target, diff: outcome.record.diff });
    case 'unchanged':
      return reply.status(200).header('etag', etag(outcome.version)).send({ version: outcome.version, unchanged: true, diff: [] });
    case 'dry-run':
      return reply.status(200).header('etag', etag(outcome.version)).send({ dryRun: true, version: outcome.version, diff: outcome.diff, answers: outcome.answers });
  }
}

/** Replaces the first item of `list` that matches, or appends `item`; true when it appended. */
export function upsert<T>(list: T[], match: (x: T) => boolean, item: T): boolean {
  const i = list.findIndex(match);
  if (i >= 0) {
    list[i] = item;
    return false;
  }
  list.push(item);
  return true;
}

/** Removes the first item of `list` that matches; 404 naming `what` when none does. */
export function removeOrNotFound<T>(list: T[], match: (x: T) => boolean, what: string): void {
  const i = list.findIndex(match);
  if (i < 0) throw notFound(what);
  list.splice(i, 1);
}

/**
 * The identity a GET body carries (`name`, `origin`, `id`) may come back in a PUT, so that a GET
 * body can be PUT back as it is; it must then name the resource of the URL (compared as `canon`
 * makes them), else 400 naming the field: a body meant for another resource is a mistake.
 */
export function checkIdentity(body: Record<string, unknown>, key: string, urlValue: string, canon: (s: string) => string = (s) => s): void {
  const v = body[key];
  if (v !== undefined && canon(String(v)) !== canon(urlValue)) {
    throw new AdminError('MERIDIAN_ERR_VALIDATION', `${key} "${String(v)}" in the body does not match the URL's "${urlValue}" (it may be left out)`, `body/${key}`);
  }
}

/**
 * Fields a GET shows and a PUT accepts but ignores (identity is checked by checkIdentity; status
 * such as `health` or `drain` belongs to other routes), so every GET body PUTs back as it is.
 */
export function withoutReadOnly<T extends Record<string, unknown>, K extends string>(body: T, keys: readonly K[]): Omit<T, K> {
  const out: Record<string, unknown> = { ...body };
  for (const k of keys) delete out[k];
  return out as Omit<T, K>;
}

export function notFound(what: string): AdminError {
  return new AdminError('MERIDIAN_ERR_NOT_FOUND', `${what} does not exist`);
}
