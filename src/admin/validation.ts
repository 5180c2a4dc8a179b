/**
 * Request validation in the API's own words: Ajv's errors (fastify validates every route's schema
 * with it) become one `MERIDIAN_ERR_VALIDATION` whose `field` is the JSON path of what was wrong
 * and whose message is that path and what is allowed, worded as the config's own schema errors
 * (src/config/schema-messages.ts): `body/state must be one of up, down, drained`, not `must be
 * equal to constant`. Also: boolean query parameters take `1`/`0` as well as `true`/`false`.
 * @module
 */
import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { choicesOf, describeConstraint, type Constraint } from '../config/schema-messages.js';
import { AdminError } from './errors.js';

/** What Ajv adds to each error with `verbose: true` (app.ts turns it on). */
type AjvError = FastifySchemaValidationError & { schema?: unknown; parentSchema?: { properties?: Record<string, unknown>; anyOf?: unknown[] } };

const LIMIT_KEYWORDS = new Set(['minItems', 'maxItems', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength']);

function constraintOf(e: AjvError, context: string): Constraint {
  const params = e.params as Record<string, unknown>;
  if (LIMIT_KEYWORDS.has(e.keyword)) return { kind: e.keyword as Extract<Constraint, { limit: number }>['kind'], limit: Number(params.limit) };
  switch (e.keyword) {
    case 'type': {
      const type = String(params.type);
      // Query parameters arrive as text; booleans also take 1/0 (see normaliseQueryBooleans).
      return type === 'boolean' && context === 'querystring' ? { kind: 'other', text: 'must be true or false (or 1 or 0)' } : { kind: 'type', type };
    }
    case 'pattern':
      return { kind: 'pattern', pattern: String(params.pattern) };
    case 'format':
      return { kind: 'format', format: String(params.format) };
    case 'const':
      return { kind: 'choice', choices: [params.allowedValue] };
    case 'enum':
      return { kind: 'choice', choices: (params.allowedValues as unknown[]) ?? [] };
    case 'anyOf': {
      const branches = (Array.isArray(e.schema) ? e.schema : []) as { type?: string; const?: unknown }[];
      const choices = choicesOf({ anyOf: branches as never });
      if (choices) return { kind: 'choice', choices };
      if (branches.length && branches.every((b) => typeof b.type === 'string' && Object.keys(b).every((k) => k === 'type' || k === 'description')))
        return { kind: 'type', type: branches.map((b) => b.type).join(',') };
      return { kind: 'other', text: 'does not match any of the allowed forms' };
    }
    case 'additionalProperties':
      return { kind: 'unknownKey', key: String(params.additionalProperty), known: Object.keys(e.parentSchema?.properties ?? {}) };
    case 'required':
      return { kind: 'required' };
    default:
      return { kind: 'other', text: e.message ?? 'is invalid' };
  }
}

/**
 * The AdminError for a failed request schema. A union reports each branch's failure and then its
 * own: the union's is the one that says what is allowed, so it wins over the branches'.
 */
export function requestValidationError(errors: FastifySchemaValidationError[], context: string): AdminError {
  const all = errors as AjvError[];
  const e = all.find((x) => x.keyword === 'anyOf') ?? all[0];
  if (!e) return new AdminError('MERIDIAN_ERR_VALIDATION', `${context} is invalid`, context);
  const params = e.params as Record<string, unknown>;
  // Unknown and missing keys: the field is the key itself, not the object holding it.
  const key = e.keyword === 'additionalProperties' ? params.additionalProperty : e.keyword === 'required' ? params.missingProperty : undefined;
  const field = `${context}${e.instancePath}${key === undefined ? '' : `/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`}`;
  return new AdminError('MERIDIAN_ERR_VALIDATION', `${field} ${describeConstraint(constraintOf(e, context))}`, field);
}

/** `?flag=1` / `?flag=0` for a boolean query parameter, as `true` / `false` (Ajv coerces only those). */
export function normaliseQueryBooleans(req: FastifyRequest): void {
  const props = (req.routeOptions.schema?.querystring as { properties?: Record<string, { type?: unknown; anyOf?: unknown }> } | undefined)?.properties;
  const query = req.query as Record<string, unknown> | undefined;
  if (!props || !query) return;
  for (const [k, v] of Object.entries(query)) {
    if (props[k]?.type !== 'boolean') continue;
    if (v === '1') query[k] = 'true';
    else if (v === '0') query[k] = 'false';
  }
}
