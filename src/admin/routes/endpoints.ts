/**
 * Endpoint registration for autoscalers: POST /v1/regions/:id/endpoints adds or updates one backend
 * and DELETE removes it (and its forwarder weight, which belongs to it). Both are idempotent: the same request twice has the effect of one (the
 * second creates no version); a second DELETE says so with 404, as for every other resource.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { EndpointSchema } from '../../config/schema.js';
import type { AdminApp, RouteOptions } from './types.js';
import { AdminError } from '../errors.js';
import { RegionParams } from './regions.js';
import { changeOf, errorResponses, etag, IfMatchHeaders, notFound, routeConfig, sendOutcome, upsert, WriteQuery } from './common.js';
import { EndpointListSchema, changeResponses } from './responses.js';

const DeleteQuery = Type.Composite(
  [
    WriteQuery,
    Type.Object({
      id: Type.Optional(Type.String({ maxLength: 63 })),
      address: Type.Optional(Type.String({ maxLength: 64 })),
      port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    }),
  ],
  { additionalProperties: false },
);

const keyOf = (e: { id?: string | undefined; address: string; port: number }): string => e.id ?? `${e.address}:${e.port}`;

export async function registerEndpointRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  app.get(
    '/v1/regions/:id/endpoints',
    { config: routeConfig('viewer'), schema: { tags: ['endpoints'], summary: "A region's endpoints", params: RegionParams, response: { 200: EndpointListSchema, ...errorResponses } } },
    async (req, reply) => {
      const head = await rt.changes.current();
      const region = head.document.regions.find((r) => r.id === req.params.id);
      if (!region) throw notFound(`region ${req.params.id}`);
      return reply.header('etag', etag(head.version)).send(region.endpoints);
    },
  );
  app.post(
    '/v1/regions/:id/endpoints',
    {
      config: routeConfig('operator'),
      schema: {
        tags: ['endpoints'],
        summary: 'Register (or update) an endpoint; idempotent',
        params: RegionParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        body: EndpointSchema,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const key = keyOf(req.body);
      let created = false;
      const outcome = await rt.changes.apply(
        changeOf(req, 'endpoint.register', `endpoint/${id}/${key}`, (doc) => {
          const region = doc.regions.find((r) => r.id === id);
          if (!region) throw notFound(`region ${id}`);
          created = upsert(region.endpoints, (e) => keyOf(e) === key, req.body);
        }),
      );
      return sendOutcome(reply, outcome, created && outcome.kind === 'committed' ? 201 : 200);
    },
  );
  app.delete(
    '/v1/regions/:id/endpoints',
    {
      config: routeConfig('operator'),
      schema: {
        tags: ['endpoints'],
        summary: 'Deregister an endpoint by ?id= or ?address=&port= (404 when there is none)',
        params: RegionParams,
        querystring: DeleteQuery,
        headers: IfMatchHeaders,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const q = req.query;
      if (!q.id && !(q.address && q.port)) throw new AdminError('MERIDIAN_ERR_VALIDATION', 'name the endpoint with ?id= or with ?address=&port=', 'querystring/id');
      const key = q.id ?? `${q.address}:${q.port}`;
      const outcome = await rt.changes.apply(
        changeOf(req, 'endpoint.deregister', `endpoint/${id}/${key}`, (doc) => {
          const region = doc.regions.find((r) => r.id === id);
          if (!region) throw notFound(`region ${id}`);
          const left = region.endpoints.filter((e) => keyOf(e) !== key && !(q.address && e.address === q.address && e.port === q.port));
          // Nothing to remove is a 404, not a silent success: the caller named something that is not there.
          if (left.length === region.endpoints.length) throw notFound(`endpoint ${key} of region ${id}`);
          const gone = region.endpoints.filter((e) => !left.includes(e)).map(keyOf);
          region.endpoints = left;
          // A forwarder weight belongs to its endpoint: it goes with it, in the same version.
          const weights = region.forwarder?.weights;
          if (weights) for (const k of gone) delete weights[k];
        }),
      );
      return sendOutcome(reply, outcome);
    },
  );
}
