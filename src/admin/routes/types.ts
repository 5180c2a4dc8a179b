/**
 * What a route plugin is given, in a file of its own: routes/*.ts import this, never app.ts, and
 * app.ts registers each of them as a fastify plugin (`app.register(plugin, { rt })`), so the
 * imports run one way, as in fastify's own encapsulation model.
 * @module
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Role } from '../../store/types.js';
import type { Principal, TokenAuthority } from '../auth.js';
import type { ChangeRunner } from '../change.js';
import type { AdminDeps } from '../context.js';
import type { DrainController } from '../drain.js';
import type { UiStreamStats } from '../ui/streams.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; absent = public (docs, OpenAPI). */
    role?: Role;
    /** A write that cannot be dry-run: `?dryRun=true` gets 400 MERIDIAN_ERR_DRY_RUN_UNSUPPORTED. */
    dryRun?: 'refused';
  }
}

export type AdminApp = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the routes share: dependencies, the change pipeline, token authority, drains. */
export interface AdminRuntime {
  deps: AdminDeps;
  changes: ChangeRunner;
  tokens: TokenAuthority;
  drains: DrainController;
  /** What the dashboard's event streams did (src/admin/ui/streams.ts), for /metrics. */
  uiStreams: UiStreamStats;
}

/** The options every route plugin is registered with. */
export interface RouteOptions {
  rt: AdminRuntime;
}
