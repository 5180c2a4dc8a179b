/**
 * Zones and their static records: /v1/zones[/:origin]. Records are zone-file presentation form,
 * validated by the same parser as zone files.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { ZoneRecordSchema, ZoneSourceSchema } from '../../config/document.js';
import { canonicalOrigin } from '../../zone/parse.js';
import type { AdminApp, RouteOptions } from './types.js';
import { changeOf, checkIdentity, errorResponses, etag, IfMatchHeaders, notFound, removeOrNotFound, routeConfig, sendOutcome, upsert, WriteQuery } from './common.js';
import { AdminError } from '../errors.js';
import { changeResponses, ZoneListSchema } from './responses.js';

const OriginParams = Type.Object({ origin: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_.-]+$' }) });
// `origin` is optional: a GET body PUTs back as it is (it must then be the URL's origin).
const ZoneBody = Type.Object({ origin: Type.Optional(Type.String()), records: Type.Array(ZoneRecordSchema, { maxItems: 100_000 }) }, { additionalProperties: false });

export async function registerZoneRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  app.get('/v1/zones', { config: routeConfig('viewer'), schema: { tags: ['zones'], summary: 'List zones', response: { 200: ZoneListSchema, ...errorResponses } } }, async (_req, reply) => {
    const head = await rt.changes.current();
    return reply.header('etag', etag(head.version)).send(head.document.zones.map((z) => ({ origin: canonicalOrigin(z.origin), records: z.records.length })));
  });
  app.get(
    '/v1/zones/:origin',
    { config: routeConfig('viewer'), schema: { tags: ['zones'], summary: 'One zone with its records', params: OriginParams, response: { 200: ZoneSourceSchema, ...errorResponses } } },
    async (req, reply) => {
      const head = await rt.changes.current();
      const zone = head.document.zones.find((z) => canonicalOrigin(z.origin) === canonicalOrigin(req.params.origin));
      if (!zone) throw notFound(`zone ${canonicalOrigin(req.params.origin)}`);
      return reply.header('etag', etag(head.version)).send(zone);
    },
  );
  app.put(
    '/v1/zones/:origin',
    {
      config: routeConfig('admin'),
      schema: {
        tags: ['zones'],
        summary: 'Create or replace a zone',
        params: OriginParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        body: ZoneBody,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const origin = canonicalOrigin(req.params.origin);
      if (origin === '.') throw new AdminError('MERIDIAN_ERR_VALIDATION', 'the root zone cannot be served here', 'params/origin');
      checkIdentity(req.body, 'origin', req.params.origin, canonicalOrigin);
      let created = false;
      const outcome = await rt.changes.apply(
        changeOf(req, 'zone.put', `zone/${origin}`, (doc) => {
          created = upsert(doc.zones, (z) => canonicalOrigin(z.origin) === origin, { origin, records: req.body.records });
        }),
      );
      return sendOutcome(reply, outcome, created ? 201 : 200);
    },
  );
  app.delete(
    '/v1/zones/:origin',
    {
      config: routeConfig('admin'),
      schema: {
        tags: ['zones'],
        summary: 'Delete a zone (its services must go first)',
        params: OriginParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const origin = canonicalOrigin(req.params.origin);
      const outcome = await rt.changes.apply(
        changeOf(req, 'zone.delete', `zone/${origin}`, (doc) => {
          removeOrNotFound(doc.zones, (z) => canonicalOrigin(z.origin) === origin, `zone ${origin}`);
        }),
      );
      return sendOutcome(reply, outcome);
    },
  );
}
