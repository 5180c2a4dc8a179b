/**
 * The `admin:` section of the YAML config: where the admin API listens and where the config store
 * keeps its data. Reasons for the defaults are in src/admin/README.md.
 * @module
 */
import { type Static, Type } from '@sinclair/typebox';

/** The bootstrap admin token's file in the data directory (server.ts writes it, the CLI reads it). */
export const BOOTSTRAP_TOKEN_FILE = 'admin-token';

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]);

export const StaticTokenSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' }),
    role: RoleSchema,
    /** Hex SHA-256 of the secret (`meridian token hash`); the secret itself never sits in a file. */
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: false },
);

export const AdminSchema = Type.Object(
  {
    /** `host:port` of the admin API; null = no API on this node (it still follows the store). */
    listen: Type.Union([Type.String(), Type.Null()], { default: '127.0.0.1:8053' }),
    /** Data directory (relative to the config file): the file store, or the local copy in cluster mode. */
    dataDir: Type.String({ minLength: 1, default: 'data' }),
    /** `file` (embedded) or `redis` (cluster: a `redis:` section, REDIS_URL or health.redisUrl); `auto` picks by Redis presence. */
    store: Type.Union([Type.Literal('auto'), Type.Literal('file'), Type.Literal('redis')], { default: 'auto' }),
    tokens: Type.Array(StaticTokenSchema, { default: [] }),
    /** PEM certificate and key files (relative to the config file): the API speaks HTTPS. Absent = plain HTTP. */
    tls: Type.Optional(Type.Object({ cert: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
    /** Requests per minute per token and per client IP. */
    rateLimit: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 600 }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024 }),
    /** TTL of answers carrying a region while it drains. */
    drainTtl: Type.Integer({ minimum: 0, maximum: 3600, default: 5 }),
    /** Cluster mode: how often the local copy re-reads tokens and the audit tail (besides on every change notice). */
    copyRefreshMs: Type.Integer({ minimum: 100, maximum: 86_400_000, default: 5000 }),
    /** Recent client addresses kept for dry-run samples. */
    sampleSize: Type.Integer({ minimum: 0, maximum: 100_000, default: 1024 }),
    /** Service × client × family lookups one dry run may compare; the services past it are left out and the reply says so. */
    dryRunMaxLookups: Type.Integer({ minimum: 2000, maximum: 100_000_000, default: 200_000 }),
    /** Dry runs that may wait for the dry-run worker behind the one it runs; more get 503 MERIDIAN_ERR_DRY_RUN_BUSY. */
    dryRunQueue: Type.Integer({ minimum: 0, maximum: 1000, default: 4 }),
    /** Pruning of old versions and audit entries by the nodes that serve the API (retention.ts). */
    retention: Type.Object(
      {
        /** Newest versions kept (0 = all). */
        versions: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 1000 }),
        /** Audit entries kept this many days (0 = forever). */
        auditDays: Type.Integer({ minimum: 0, maximum: 36_500, default: 400 }),
        /** When to prune: a node-cron expression (5 or 6 fields), local time. */
        cron: Type.String({ minLength: 1, default: '43 3 * * *' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type AdminConfig = Static<typeof AdminSchema>;
export type StaticToken = Static<typeof StaticTokenSchema>;
