/**
 * API tokens (admin only). The secret is returned once, at creation; the store keeps its SHA-256.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { RoleSchema } from '../config.js';
import { newSecret, sha256Hex } from '../auth.js';
import type { AdminApp, RouteOptions } from './types.js';
import { AdminError } from '../errors.js';
import { DryRunRefused, errorResponses, routeConfig } from './common.js';
import { TokenCreatedSchema, TokenDeletedSchema, TokenListSchema } from './responses.js';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' });
// No dry run: a token's only effect is its secret, and a rehearsal that shows none tells nothing
// a GET /v1/tokens does not (name taken, role). Refused, coded, rather than done for real.
const CreateQuery = Type.Object({ dryRun: DryRunRefused }, { additionalProperties: false });
const DeleteQuery = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })), dryRun: DryRunRefused }, { additionalProperties: false });
const writeConfig = routeConfig('admin', { dryRun: 'refused' });

export async function registerTokenRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  const { deps, tokens } = rt;
  app.get(
    '/v1/tokens',
    { config: routeConfig('admin'), schema: { tags: ['tokens'], summary: 'List tokens (never their secrets)', response: { 200: TokenListSchema, ...errorResponses } } },
    async () => {
      const stored = (await deps.store.tokens.list()).map((t) => ({ name: t.name, role: t.role, createdAt: t.createdAt, createdBy: t.createdBy, source: 'store' }));
      const fixed = deps.staticTokens.map((t) => ({ name: t.name, role: t.role, createdAt: null, createdBy: null, source: 'config' }));
      return [...fixed, ...stored];
    },
  );
  app.post(
    '/v1/tokens',
    {
      config: writeConfig,
      schema: {
        tags: ['tokens'],
        summary: 'Create a token; the secret is shown only in this response',
        querystring: CreateQuery,
        body: Type.Object({ name: Name, role: RoleSchema, reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false }),
        response: { 201: TokenCreatedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { name, role } = req.body;
      const existing = await deps.store.tokens.list();
      if (existing.some((t) => t.name === name) || deps.staticTokens.some((t) => t.name === name)) throw new AdminError('MERIDIAN_ERR_CONFLICT', `a token named ${name} exists`, 'body/name');
      const secret = newSecret();
      // Atomic create: of two simultaneous requests for one name, exactly one gets the token.
      const created = await deps.store.tokens.create({ name, role, sha256: sha256Hex(secret), createdAt: new Date(deps.now?.() ?? Date.now()).toISOString(), createdBy: req.principal!.name });
      if (!created) throw new AdminError('MERIDIAN_ERR_CONFLICT', `a token named ${name} exists`, 'body/name');
      await deps.store.appendAudit({ author: req.principal!.name, action: 'token.create', target: `token/${name}`, version: null, reason: req.body.reason ?? '', detail: { role } });
      tokens.invalidate();
      return reply.status(201).send({ name, role, secret });
    },
  );
  app.delete(
    '/v1/tokens/:name',
    {
      config: writeConfig,
      schema: { tags: ['tokens'], summary: 'Revoke a token', params: Type.Object({ name: Name }), querystring: DeleteQuery, response: { 200: TokenDeletedSchema, ...errorResponses } },
    },
    async (req) => {
      const { name } = req.params;
      if (deps.staticTokens.some((t) => t.name === name)) throw new AdminError('MERIDIAN_ERR_CONFLICT', `token ${name} comes from the YAML config (admin.tokens); remove it there`);
      if (!(await deps.store.tokens.delete(name))) throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `no token named ${name}`);
      await deps.store.appendAudit({ author: req.principal!.name, action: 'token.delete', target: `token/${name}`, version: null, reason: req.query.reason ?? '' });
      tokens.invalidate();
      return { name, deleted: true };
    },
  );
}
