/**
 * GET /v1/config (the whole current document) and GET /v1/status (what this node serves). While the
 * store cannot be reached both answer from the version this node serves (`storeReachable: false`).
 * @module
 */
import type { AdminApp, RouteOptions } from './types.js';
import { errorResponses, etag, routeConfig } from './common.js';
import { ConfigResponseSchema, StatusSchema } from './responses.js';

export async function registerConfigRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  app.get(
    '/v1/config',
    { config: routeConfig('viewer'), schema: { tags: ['config'], summary: 'The current config document', response: { 200: ConfigResponseSchema, ...errorResponses } } },
    async (_req, reply) => {
      const head = await rt.changes.current();
      return reply.header('etag', etag(head.version)).send({ version: head.version, author: head.author, time: head.time, document: head.document });
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
