/**
 * Services (names whose answers are chosen per client): /v1/services[/:name].
 * @module
 */
import { Type } from '@sinclair/typebox';
import { ServiceSchema } from '../../config/schema.js';
import { canonicalOrigin } from '../../zone/parse.js';
import type { AdminApp, RouteOptions } from './types.js';
import { changeOf, checkIdentity, errorResponses, etag, IfMatchHeaders, notFound, removeOrNotFound, routeConfig, sendOutcome, upsert, withoutReadOnly, WriteQuery } from './common.js';
import { changeResponses, ServiceListSchema } from './responses.js';

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_.-]+$' }) });
// `name` is optional: a GET body PUTs back as it is (it must then be the URL's name).
const ServiceBody = Type.Object({ ...ServiceSchema.properties, name: Type.Optional(ServiceSchema.properties.name) }, { additionalProperties: false });

export async function registerServiceRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  app.get('/v1/services', { config: routeConfig('viewer'), schema: { tags: ['services'], summary: 'List services', response: { 200: ServiceListSchema, ...errorResponses } } }, async (_req, reply) => {
    const head = await rt.changes.current();
    return reply.header('etag', etag(head.version)).send(head.document.services);
  });
  app.get(
    '/v1/services/:name',
    { config: routeConfig('viewer'), schema: { tags: ['services'], summary: 'One service', params: NameParams, response: { 200: ServiceSchema, ...errorResponses } } },
    async (req, reply) => {
      const head = await rt.changes.current();
      const svc = head.document.services.find((s) => canonicalOrigin(s.name) === canonicalOrigin(req.params.name));
      if (!svc) throw notFound(`service ${canonicalOrigin(req.params.name)}`);
      return reply.header('etag', etag(head.version)).send(svc);
    },
  );
  app.put(
    '/v1/services/:name',
    {
      config: routeConfig('admin'),
      schema: {
        tags: ['services'],
        summary: 'Create or replace a service',
        params: NameParams,
        querystring: WriteQuery,
        headers: IfMatchHeaders,
        body: ServiceBody,
        response: { ...changeResponses, ...errorResponses },
      },
    },
    async (req, reply) => {
      const name = canonicalOrigin(req.params.name);
      checkIdentity(req.body, 'name', req.params.name, canonicalOrigin);
      const body = withoutReadOnly(req.body, ['name']);
      let created = false;
      const outcome = await rt.changes.apply(
        changeOf(req, 'service.put', `service/${name}`, (doc) => {
          created = upsert(doc.services, (s) => canonicalOrigin(s.name) === name, { ...body, name: name.slice(0, -1) });
        }),
      );
      return sendOutcome(reply, outcome, created ? 201 : 200);
    },
  );
  app.delete(
    '/v1/services/:name',
    {
      config: routeConfig('admin'),
      schema: { tags: ['services'], summary: 'Delete a service', params: NameParams, querystring: WriteQuery, headers: IfMatchHeaders, response: { ...changeResponses, ...errorResponses } },
    },
    async (req, reply) => {
      const name = canonicalOrigin(req.params.name);
      const outcome = await rt.changes.apply(
        changeOf(req, 'service.delete', `service/${name}`, (doc) => {
          removeOrNotFound(doc.services, (s) => canonicalOrigin(s.name) === name, `service ${name}`);
        }),
      );
      return sendOutcome(reply, outcome);
    },
  );
}
