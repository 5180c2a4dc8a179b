/**
 * Every error the admin API returns, in one registry (fastify's lib/errors.js, undici's UND_ERR_*).
 * The body is always `{ error: { code, message, field?, problems? } }`; the table in
 * src/admin/README.md lists the codes and is checked against this file by a test.
 * @module
 */

import { MAX_NESTING } from '../config/depth.js';

export const ERRORS = {
  MERIDIAN_ERR_VALIDATION: { status: 400, message: 'The request does not match the schema' },
  MERIDIAN_ERR_INVALID_CONFIG: { status: 400, message: 'The change would make the config invalid' },
  MERIDIAN_ERR_TARGET_DENIED: { status: 400, message: 'A health check target is refused by health.targets' },
  MERIDIAN_ERR_TOO_DEEP: { status: 400, message: `The body nests arrays and objects more than ${MAX_NESTING} levels deep` },
  MERIDIAN_ERR_INVALID_ADDRESS: { status: 400, message: 'An answer or endpoint address is one no client or probe can use' },
  MERIDIAN_ERR_INVALID_FORWARDER: { status: 400, message: "A region's forwarder block breaks the forwarder's rules" },
  MERIDIAN_ERR_BAD_JSON: { status: 400, message: 'The body is not valid JSON' },
  MERIDIAN_ERR_DRY_RUN_UNSUPPORTED: { status: 400, message: 'This write has no dry run; nothing was changed' },
  MERIDIAN_ERR_UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required' },
  MERIDIAN_ERR_FORBIDDEN: { status: 403, message: "The token's role does not allow this" },
  MERIDIAN_ERR_NOT_FOUND: { status: 404, message: 'No such resource' },
  MERIDIAN_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  MERIDIAN_ERR_CONFLICT: { status: 409, message: 'The resource already exists or is in another state' },
  MERIDIAN_ERR_PRECONDITION_FAILED: { status: 412, message: 'If-Match does not name the current config version' },
  MERIDIAN_ERR_BODY_TOO_LARGE: { status: 413, message: 'The body is larger than admin.bodyLimitBytes' },
  MERIDIAN_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Bodies must be application/json' },
  MERIDIAN_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests; retry later' },
  MERIDIAN_ERR_TOO_MANY_STREAMS: { status: 429, message: 'Too many dashboard event streams are open; retry later' },
  MERIDIAN_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  MERIDIAN_ERR_STORE_UNAVAILABLE: { status: 503, message: 'The config store cannot be reached; nothing was changed' },
  MERIDIAN_ERR_BUSY: { status: 503, message: 'Too many concurrent changes; retry' },
  MERIDIAN_ERR_DRY_RUN_BUSY: { status: 503, message: 'Too many dry runs are waiting for the dry-run worker; retry' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface Problem {
  path: string;
  reason: string;
}

export class AdminError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly field?: string,
    readonly problems?: Problem[],
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }

  toJSON(): { error: { code: ErrorCode; message: string; field?: string; problems?: Problem[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field !== undefined ? { field: this.field } : {}),
        ...(this.problems ? { problems: this.problems } : {}),
      },
    };
  }
}

/** The JSON schema of an error body, for the OpenAPI document. */
export const ErrorBodySchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: Object.keys(ERRORS) },
        message: { type: 'string' },
        field: { type: 'string', description: 'RFC 6901 pointer to the offending field' },
        problems: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, reason: { type: 'string' } } } },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;
