/**
 * Regions (location, weight, addresses, endpoints): /v1/regions[/:id], the operator's weight knob
 * and the drain with TTL choreography (src/admin/drain.ts).
 * @module
 */
import { Type } from '@sinclair/typebox';
import { RegionSchema } from '../../config/schema.js';
import type { AdminApp, RouteOptions } from './types.js';
import type { RegionHealthView } from '../context.js';
import { AdminError } from '../errors.js';
import { changeOf, checkIdentity, errorResponses, etag, IfMatchHeaders, notFound, routeConfig, sendOutcome, upsert, withoutReadOnly, WriteQuery } from './common.js';
import { changeResponses, DrainStatusSchema, RegionListSchema, RegionViewSchema } from './responses.js';

export const RegionParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }) });
// A GET body PUTs back as it is: `id` must then be the URL's; `drain` (the drain routes' business,
// kept as it is) and `health` (what the probes see) are read-only and ignored.
const READ_ONLY = ['id', 'drain', 'health'] as const;
const RegionBody = Type.Object(
  { ...RegionSchema.properties, id: Type.Optional(RegionSchema.properties.id), drain: Type.Optional(Type.Unknown()), health: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);
const WeightBody = Type.Object({ weight: Type.Integer({ minimum: 0, maximum: 1_000_000 }) }, { additionalProperties: false });
const DrainBody = Type.Object(
  { ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'TTL of answers carrying the region while it drains (default admin.drainTtl)' })) },
  { additionalProperties: false },
);

export async function registerRegionRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  // The configured `state` is the operator's intent; `health` is what the answers act on.
  const view = <R extends { id: string }>(region: R): R & { health: RegionHealthView | null } => ({ ...region, health: rt.deps.regionHealth?.(region.id) ?? null });
  app.get('/v1/regions', { config: routeConfig('viewer'), schema: { tags: ['regions'], summary: 'List regions', response: { 200: RegionListSchema, ...errorResponses } } }, async (_req, reply) => {
    const head = await rt.changes.current();
    return reply.header('etag', etag(head.version)).send(head.document.regions.map(view));
  });
  app.get(
    '/v1/regions/:id',
    { config: routeConfig('viewer'), schema: { tags: ['regions'], summary: 'One region', params: RegionParams, response: { 200: RegionViewSchema, ...errorResponses } } },
    async (req, reply) => {
      const head = await rt.changes.current();
      const region = head.document.regions.find((r) => r.id === req.params.id);
      if (!region) throw notFound(`region ${req.params.id}`);
      return reply.header('etag', etag(head.version)).send(view(region));
    },
  );
  app.put(
    '/v1/regions/:id',
    {
      config: routeConfig('admin'),
      schema: {
        tags: ['regions'],
        summary: 'Create or replace a region',
        params: RegionParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        body: RegionBody,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      checkIdentity(req.body, 'id', id);
      const body = withoutReadOnly(req.body, READ_ONLY);
      let created = false;
      const outcome = await rt.changes.apply(
        changeOf(req, 'region.put', `region/${id}`, (doc) => {
          // A drain in progress belongs to the drain routes; replacing the region keeps it.
          const drain = doc.regions.find((r) => r.id === id)?.drain;
          created = upsert(doc.regions, (r) => r.id === id, { ...body, id, ...(drain ? { drain } : {}) });
        }),
      );
      return sendOutcome(reply, outcome, created ? 201 : 200);
    },
  );
  app.delete(
    '/v1/regions/:id',
    {
      config: routeConfig('admin'),
      schema: {
        tags: ['regions'],
        summary: 'Delete a region (no service may use it)',
        params: RegionParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const outcome = await rt.changes.apply(
        changeOf(req, 'region.delete', `region/${id}`, (doc) => {
          const i = doc.regions.findIndex((r) => r.id === id);
          if (i < 0) throw notFound(`region ${id}`);
          const users = doc.services.filter((s) => s.regions.includes(id)).map((s) => s.name);
          if (users.length) throw new AdminError('MERIDIAN_ERR_CONFLICT', `region ${id} is used by ${users.join(', ')}`, `/regions/${i}`);
          doc.regions.splice(i, 1);
        }),
      );
      return sendOutcome(reply, outcome);
    },
  );
  app.put(
    '/v1/regions/:id/weight',
    {
      config: routeConfig('operator'),
      schema: {
        tags: ['regions'],
        summary: "Set a region's capacity weight",
        params: RegionParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        body: WeightBody,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const outcome = await rt.changes.apply(
        changeOf(req, 'region.weight', `region/${id}`, (doc) => {
          const region = doc.regions.find((r) => r.id === id);
          if (!region) throw notFound(`region ${id}`);
          region.weight = req.body.weight;
        }),
      );
      return sendOutcome(reply, outcome);
    },
  );

  app.post(
    '/v1/regions/:id/drain',
    {
      config: routeConfig('operator'),
      schema: {
        tags: ['drain'],
        summary: 'Drain a region: lower the TTL of its answers, wait out the old TTL, then stop handing it out',
        description: 'The body may be omitted (default TTL).',
        params: RegionParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        body: DrainBody,
        response: { 202: DrainStatusSchema, ...errorResponses },
      },
      // fastify validates a missing body as null, which no object schema accepts: no body = `{}`.
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) (req as { body: unknown }).body = {};
      },
    },
    async (req, reply) => {
      const change = changeOf(req, 'region.drain', `region/${req.params.id}`, () => undefined);
      const status = await rt.drains.start(req.params.id, change, req.body.ttl);
      return reply.status(202).header('etag', etag(status.version)).send(status);
    },
  );
  app.get(
    '/v1/regions/:id/drain',
    { config: routeConfig('viewer'), schema: { tags: ['drain'], summary: "Progress of a region's drain", params: RegionParams, response: { 200: DrainStatusSchema, ...errorResponses } } },
    async (req, reply) => {
      const status = await rt.drains.status(req.params.id);
      return reply.header('etag', etag(status.version)).send(status);
    },
  );
  app.delete(
    '/v1/regions/:id/drain',
    {
      config: routeConfig('operator'),
      schema: {
        tags: ['drain'],
        summary: 'End a drain: the region is handed out again',
        params: RegionParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        response: { 200: DrainStatusSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const change = changeOf(req, 'region.undrain', `region/${req.params.id}`, () => undefined);
      const status = await rt.drains.cancel(req.params.id, change);
      return reply.header('etag', etag(status.version)).send(status);
    },
  );
}
