/**
 * The admin API as a fastify app: schemas for every route (TypeBox, shown at /openapi.json and
 * /docs), bearer-token roles, coded errors, body and rate limits. Routes live in routes/*.ts, one
 * resource per file, each a fastify plugin registered with the runtime (`routes/types.ts`); they
 * get their dependencies through `AdminDeps`, never through globals, and never import this file.
 * @module
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { VERSION } from '../version.js';
import { allows, TokenAuthority } from './auth.js';
import { ChangeRunner, storeError } from './change.js';
import type { AdminDeps } from './context.js';
import { DrainController } from './drain.js';
import { FixedWindowLimiter } from './limit.js';
import { credentialParams, requestForLog } from './redact.js';
import { describeConstraint } from '../config/schema-messages.js';
import { tooDeep, tooDeepReason, TOO_DEEP } from '../config/depth.js';
import { pointer } from '../config/document.js';
import { typeMismatch } from './strict.js';
import { normaliseQueryBooleans, requestValidationError } from './validation.js';
import { AdminError, ERRORS } from './errors.js';
import { registerConfigRoutes } from './routes/config.js';
import { registerEndpointRoutes } from './routes/endpoints.js';
import { registerExplainRoutes } from './routes/explain.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOverrideRoutes } from './routes/overrides.js';
import { registerRegionRoutes } from './routes/regions.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerVersionRoutes } from './routes/versions.js';
import { registerZoneRoutes } from './routes/zones.js';
import { registerUiRoutes } from './ui/index.js';
import type { AdminApp, AdminRuntime } from './routes/types.js';
import type { AdminTlsMaterial } from './tls.js';
import { newUiStreamStats } from './ui/streams.js';

export interface AdminAppHandle {
  app: AdminApp;
  runtime: AdminRuntime;
}

/** Maps fastify's own errors (validation, body parsing, limits) onto the registry. */
function toAdminError(err: FastifyError): AdminError {
  if (err instanceof AdminError) return err;
  if (err.validation) return requestValidationError(err.validation, err.validationContext ?? 'body');
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AdminError('MERIDIAN_ERR_BODY_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AdminError('MERIDIAN_ERR_UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AdminError('MERIDIAN_ERR_BAD_JSON', err.message);
  }
  if (err.statusCode === 429) return new AdminError('MERIDIAN_ERR_RATE_LIMITED');
  if (err.code === 'MERIDIAN_ERR_STORE_UNAVAILABLE') return new AdminError('MERIDIAN_ERR_STORE_UNAVAILABLE', err.message);
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) return new AdminError('MERIDIAN_ERR_BAD_JSON', err.message);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new AdminError('MERIDIAN_ERR_VALIDATION', err.message);
  return new AdminError('MERIDIAN_ERR_INTERNAL');
}

export async function buildAdminApp(deps: AdminDeps, tls: AdminTlsMaterial | null = null): Promise<AdminAppHandle> {
  const app = Fastify({
    ...(tls ? { https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' as const } } : {}),
    // The request log shows URLs with credential-named query parameters redacted (redact.ts).
    loggerInstance: deps.log.child({ component: 'admin' }, { serializers: { req: requestForLog } }),
    bodyLimit: deps.settings.bodyLimitBytes,
    // The router's default (100) is below what the schemas allow (names of 255 characters): such a
    // name got the router's 414, not the schema's 400. Longer still is refused, coded, below.
    routerOptions: { maxParamLength: 1024 },
    // Errors the router raises before any route (a bad percent-escape, an overlong parameter) were
    // sent in fastify's own shape, outside the MERIDIAN_ERR_* registry.
    frameworkErrors: (err, _req, reply) => {
      const e = err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new AdminError('MERIDIAN_ERR_VALIDATION', err.message, 'url') : toAdminError(err);
      void (reply as unknown as FastifyReply).status(e.status).send(e.toJSON());
    },
    // verbose: each error carries its schema, so validation.ts can say what is allowed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false, verbose: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const tokens = new TokenAuthority(deps.store.tokens, deps.staticTokens, 1000, () => deps.localTokens?.() ?? []);
  const changes = new ChangeRunner(deps);
  const drains = new DrainController(deps, changes);
  const runtime: AdminRuntime = { deps, changes, tokens, drains, uiStreams: newUiStreamStats() };
  app.decorateRequest('principal', null);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toAdminError(err);
    if (e.status >= 500) req.log.error({ err }, 'admin request failed');
    void reply.status(e.status).send(e.toJSON());
  });
  // Every answer given while the store cannot be reached says so: reads then come from the version
  // this node serves, not from the store.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (deps.store.connected === false) void reply.header('x-meridian-store', 'unreachable');
    return payload;
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(new AdminError('MERIDIAN_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  await app.register(rateLimit, {
    // Not per route: route-level onRequest hooks run after the app-level auth hook below, so a
    // request with a bad token was rejected before it was ever counted (token guessing was not
    // limited). The limiter is added as the first app-level hook instead, for every request.
    global: false,
    max: deps.settings.rateLimit,
    timeWindow: 60_000,
    // Per client IP for every request without a valid token (guessing tokens included); per token
    // below, after auth. A valid token is neither counted nor refused here: failures from one
    // address (a broken script behind the operators' NAT) must not lock out a working token. Its
    // principal is kept for the auth hook, so a token is checked once per request.
    keyGenerator: (req) => `ip:${req.ip}`,
    allowList: async (req) => {
      if (req.headers.authorization === undefined) return false;
      req.principal = await tokens.authenticate(req.headers.authorization).catch(() => null);
      return req.principal !== null;
    },
    errorResponseBuilder: (_req, ctx) => Object.assign(new AdminError('MERIDIAN_ERR_RATE_LIMITED', `more than ${ctx.max} requests per minute; retry in ${ctx.after}`), { statusCode: 429 }),
  });
  app.addHook('onRequest', app.rateLimit());
  // A credential in the URL is refused before anything reads it (redact.ts says why).
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const named = credentialParams(req.url);
    if (named.length)
      throw new AdminError(
        'MERIDIAN_ERR_VALIDATION',
        `tokens go in the Authorization header, never in the URL (${named.join(', ')}); treat this one as leaked and rotate it`,
        `querystring/${named[0]}`,
      );
  });
  // @fastify/rate-limit runs once per request (one marker per registration), so the per-token
  // budget is a second, tiny fixed window of our own, checked right after authentication.
  const perToken = new FixedWindowLimiter(deps.settings.rateLimit, 60_000, deps.now ?? Date.now);

  // Response schemas (routes/responses.ts) document the bodies; they must never shape them. fastify's
  // default serializer would drop any field a schema does not list and coerce mismatched types, so a
  // schema that lags behind a route would silently change what clients get. openapi.test.ts checks
  // real bodies against the schemas instead.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Bodies are JSON only: fastify's built-in text/plain parser would hand a string to the schema
  // (a 400 "body must be object") where 415 is the answer.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Meridian admin API',
        version: VERSION,
        description:
          'Zones, services, regions, endpoints, overrides, tokens, versions and audit. Errors are `{ error: { code, message, field? } }` with the MERIDIAN_ERR_* codes of src/admin/README.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Authentication and role check for every route that declares a role.
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const needed = req.routeOptions.config?.role;
    if (!needed) return;
    const principal =
      req.principal ??
      (await tokens.authenticate(req.headers.authorization).catch((err: unknown) => {
        throw storeError(err);
      }));
    req.principal = principal;
    if (!allows(principal, needed)) throw new AdminError('MERIDIAN_ERR_FORBIDDEN', `${principal.role} tokens cannot do this; it needs ${needed}`);
    const retry = perToken.take(principal.name);
    if (retry > 0) {
      void reply.header('retry-after', Math.ceil(retry / 1000));
      throw new AdminError('MERIDIAN_ERR_RATE_LIMITED', `more than ${deps.settings.rateLimit} requests per minute for token ${principal.name}`);
    }
  });

  // Bodies are checked for JSON types before Ajv, whose type coercion is for the query string only;
  // and for their depth before that, since the checks and the clones after it recurse (depth.ts).
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const deep = tooDeep(req.body);
    if (deep) throw new AdminError(TOO_DEEP, tooDeepReason(`body${pointer(deep)}`), `body${pointer(deep)}`);
    normaliseQueryBooleans(req);
    const schema = req.routeOptions.schema?.body;
    if (!schema || req.body === undefined || req.body === null) return;
    const m = typeMismatch(schema as object, req.body, 'body');
    if (m) throw new AdminError('MERIDIAN_ERR_VALIDATION', `${m.path} ${describeConstraint({ kind: 'type', type: m.expected.split(' or ').join(',') })}`, m.path);
  });

  guardDryRuns(app);
  const plugins = [
    registerConfigRoutes,
    registerZoneRoutes,
    registerServiceRoutes,
    registerRegionRoutes,
    registerHealthRoutes,
    registerEndpointRoutes,
    registerOverrideRoutes,
    registerTokenRoutes,
    registerVersionRoutes,
    registerExplainRoutes,
    registerUiRoutes,
  ];
  for (const routes of plugins) await app.register(routes, { rt: runtime });
  await app.ready();
  return { app, runtime };
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every write under /v1 takes `?dryRun=`: it either answers what it would do and changes nothing,
 * or refuses `true` with a coded 400. A write route that declares neither does not start (a dry
 * run silently done for real is how an override got applied without expiry), and the refusal
 * happens here, after validation and before the handler, so no refused route can half-run.
 */
function guardDryRuns(app: AdminApp): void {
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (!route.url.startsWith('/v1/') || !methods.some((m) => WRITE_METHODS.has(m))) return;
    const query = route.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
    if (!query?.properties?.dryRun) {
      throw new Error(`admin API: ${methods.join(',')} ${route.url} must declare ?dryRun= in its querystring schema (honoured, or refused with routeConfig(role, { dryRun: 'refused' }))`);
    }
  });
  app.addHook('preHandler', async (req: FastifyRequest) => {
    if (req.routeOptions.config?.dryRun === 'refused' && (req.query as { dryRun?: unknown } | undefined)?.dryRun === true) {
      throw new AdminError('MERIDIAN_ERR_DRY_RUN_UNSUPPORTED', `${req.method} ${req.routeOptions.url} has no dry run; nothing was changed`, 'querystring/dryRun');
    }
  });
}

export { ERRORS };
