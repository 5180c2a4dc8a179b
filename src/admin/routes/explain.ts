/**
 * GET /v1/explain: the live decision for one client, step by step, from this node's own services
 * (its config version, health snapshot and geo database), as `meridian explain --json` prints it.
 * @module
 */
import { isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import { explain } from '../../routing/explain.js';
import type { AdminApp, RouteOptions } from './types.js';
import { AdminError } from '../errors.js';
import { errorResponses, routeConfig } from './common.js';
import { ExplanationSchema } from './responses.js';

const ExplainQuery = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    ip: Type.String({ minLength: 1, maxLength: 64 }),
    ecs: Type.Optional(Type.String({ maxLength: 64, description: 'client subnet as a resolver would send it, e.g. 81.2.69.0/24' })),
    type: Type.Optional(Type.Union([Type.Literal('A'), Type.Literal('AAAA')])),
  },
  { additionalProperties: false },
);

export async function registerExplainRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  app.get(
    '/v1/explain',
    { config: routeConfig('viewer'), schema: { tags: ['explain'], summary: 'Explain the answer a client gets', querystring: ExplainQuery, response: { 200: ExplanationSchema, ...errorResponses } } },
    async (req) => {
      // explain() relies on clientFromAddress throwing for a non-address, which it does not ("zzz" came
      // back as an IPv6 client): check here, so a typo is a 400 and not a made-up answer.
      if (isIP(req.query.ip) === 0) throw new AdminError('MERIDIAN_ERR_VALIDATION', `"${req.query.ip}" is not an IP address`, 'querystring/ip');
      const live = rt.deps.live();
      const result = explain(live.services, req.query.name, req.query.ip, {
        ...(live.zones ? { zones: live.zones } : {}),
        ...(req.query.ecs !== undefined ? { ecs: req.query.ecs } : {}),
        ...(req.query.type ? { qtype: req.query.type } : {}),
      });
      if (!result.ok) {
        const field = /is not a service/.test(result.error) ? 'querystring/name' : /--ecs/.test(result.error) ? 'querystring/ecs' : 'querystring/ip';
        throw new AdminError(field === 'querystring/name' ? 'MERIDIAN_ERR_NOT_FOUND' : 'MERIDIAN_ERR_VALIDATION', result.error.replace('--ecs', 'ecs'), field);
      }
      return { version: live.version, ...result.explanation };
    },
  );
}
