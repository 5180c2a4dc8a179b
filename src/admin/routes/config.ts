/**
 * GET /v1/config (the whole current document), PUT /v1/config (replace it: `meridian apply`) and
 * GET /v1/status (what this node serves). While the store cannot be reached both reads answer from
 * the version this node serves (`storeReachable: false`).
 * @module
 */
import { Type } from '@sinclair/typebox';
import { ConfigDocumentSchema, type ConfigDocument } from '../../config/document.js';
import type { RegionSource } from '../../config/schema.js';
import type { AdminApp, RouteOptions } from './types.js';
import { changeOf, errorResponses, etag, IfMatchHeaders, routeConfig, sendOutcome, WriteQuery } from './common.js';
import { changeResponses, ConfigResponseSchema, StatusSchema } from './responses.js';

// The document whole; `drain` of a region is ignored (the drain routes own it, as in a region PUT).
const ConfigBody = Type.Object(
  { zones: ConfigDocumentSchema.properties.zones, regions: ConfigDocumentSchema.properties.regions, services: ConfigDocumentSchema.properties.services },
  { additionalProperties: false },
);

/** The body's regions, each keeping the drain in progress it has in `current` (and only that one). */
function keepDrains(regions: RegionSource[], current: RegionSource[]): RegionSource[] {
  return regions.map(({ drain: _ignored, ...region }) => {
    const drain = current.find((r) => r.id === region.id)?.drain;
    return drain ? { ...region, drain } : region;
  });
}

export async function registerConfigRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  app.get(
    '/v1/config',
    { config: routeConfig('viewer'), schema: { tags: ['config'], summary: 'The current config document', response: { 200: ConfigResponseSchema, ...errorResponses } } },
    async (_req, reply) => {
      const head = await rt.changes.current();
      return reply.header('etag', etag(head.version)).send({ version: head.version, author: head.author, time: head.time, document: head.document });
    },
  );
  app.put(
    '/v1/config',
    {
      config: routeConfig('admin'),
      schema: {
        tags: ['config'],
        summary: 'Replace the zones, regions and services whole, as one version (meridian apply)',
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        body: ConfigBody,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as ConfigDocument;
      const outcome = await rt.changes.apply(
        changeOf(req, 'config.put', 'config', (doc) => {
          doc.zones = structuredClone(body.zones);
          doc.regions = keepDrains(structuredClone(body.regions), doc.regions);
          doc.services = structuredClone(body.services);
        }),
      );
      return sendOutcome(reply, outcome);
    },
  );
  app.get(
    '/v1/status',
    { config: routeConfig('viewer'), schema: { tags: ['config'], summary: 'The version this node answers from, and the store', response: { 200: StatusSchema, ...errorResponses } } },
    async (_req, reply) => {
      const head = await rt.changes.current();
      const applied = rt.deps.live().version;
      return reply.header('etag', etag(head.version)).send({ store: rt.deps.store.kind, storeReachable: head.fromStore, head: head.fromStore ? head.version : null, applied });
    },
  );
}
