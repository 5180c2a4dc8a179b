/**
 * Versions, rollback and the audit log: /v1/versions[/:n], POST /v1/rollback/:n, /v1/audit.
 * A rollback is a new version whose document is the old one, so history only ever grows.
 * @module
 */
import { Type } from '@sinclair/typebox';
import type { AdminApp, RouteOptions } from './types.js';
import { guard } from '../change.js';
import { AdminError } from '../errors.js';
import { changeOf, errorResponses, etag, IfMatchHeaders, notFound, routeConfig, sendOutcome, WriteQuery } from './common.js';
import { AuditListSchema, VersionListSchema, VersionRecordSchema, changeResponses } from './responses.js';

const VersionParams = Type.Object({ n: Type.Integer({ minimum: 1, maximum: 1e12 }) });

export async function registerVersionRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  const { deps } = rt;
  app.get(
    '/v1/versions',
    {
      config: routeConfig('viewer'),
      schema: {
        tags: ['versions'],
        summary: 'Config versions, newest first',
        querystring: Type.Object({ before: Type.Optional(Type.Integer({ minimum: 1 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
        response: { 200: VersionListSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const head = await guard(() => deps.store.head());
      const list = await guard(() => deps.store.list({ ...(req.query.before ? { before: req.query.before } : {}), ...(req.query.limit ? { limit: req.query.limit } : {}) }));
      return reply.header('etag', etag(head)).send(list);
    },
  );
  app.get(
    '/v1/versions/:n',
    {
      config: routeConfig('viewer'),
      schema: { tags: ['versions'], summary: 'One version: document, diff, author, time, reason', params: VersionParams, response: { 200: VersionRecordSchema, ...errorResponses } },
    },
    async (req) => {
      const record = await guard(() => deps.store.get(req.params.n));
      if (!record) throw notFound(`version ${req.params.n}`);
      return record;
    },
  );
  app.post(
    '/v1/rollback/:n',
    {
      config: routeConfig('admin'),
      schema: {
        tags: ['versions'],
        summary: "Make version n's document current again (as a new version)",
        params: VersionParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const target = await guard(() => deps.store.get(req.params.n));
      if (!target) throw notFound(`version ${req.params.n}`);
      const outcome = await rt.changes.apply(
        changeOf(req, 'rollback', `version/${req.params.n}`, (doc) => {
          doc.zones = structuredClone(target.document.zones);
          doc.regions = structuredClone(target.document.regions);
          doc.services = structuredClone(target.document.services);
        }),
      );
      return sendOutcome(reply, outcome);
    },
  );
  app.get(
    '/v1/audit',
    {
      config: routeConfig('viewer'),
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first; ?format=jsonl exports JSON lines',
        querystring: Type.Object(
          {
            since: Type.Optional(Type.String({ format: 'date-time' })),
            until: Type.Optional(Type.String({ format: 'date-time' })),
            author: Type.Optional(Type.String({ maxLength: 100 })),
            action: Type.Optional(Type.String({ maxLength: 100 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('jsonl')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: AuditListSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { format, ...query } = req.query;
      // The schema's date-time accepts what Date.parse cannot read (a leap second, `23:59:60Z`); the
      // store would throw on it, which guard() reports as an unreachable store (503).
      for (const key of ['since', 'until'] as const) {
        if (query[key] !== undefined && Number.isNaN(Date.parse(query[key])))
          throw new AdminError('MERIDIAN_ERR_VALIDATION', `${key} is not a time this server can read: ${query[key]}`, `querystring/${key}`);
      }
      const entries = await guard(() => deps.store.audit(query));
      if (format === 'jsonl') {
        return reply
          .type('application/x-ndjson')
          .header('content-disposition', 'attachment; filename="meridian-audit.jsonl"')
          .send(entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''));
      }
      return entries;
    },
  );
}
