/**
 * The success bodies of the API, for /openapi.json. They document; they do not serialize: the app
 * sends every body with JSON.stringify (app.ts), so a schema that lags behind a route can never
 * drop a field from a response. test/admin/openapi.test.ts checks every 2xx body its generated
 * requests get against the schema documented for that status, so the documentation cannot lag
 * unnoticed either.
 * @module
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ConfigDocumentSchema } from '../../config/document.js';
import { EndpointSchema, RegionSchema, ServiceSchema } from '../../config/schema.js';
import { RoleSchema } from '../config.js';

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T, opts: { description?: string } = {}) => Type.Union([t, Type.Null()], opts);

export const DiffEntrySchema = Type.Object({
  op: Type.Union([Type.Literal('add'), Type.Literal('remove'), Type.Literal('replace')]),
  path: Type.String({ description: 'JSON pointer into the config document' }),
  before: Type.Optional(Type.Unknown()),
  after: Type.Optional(Type.Unknown()),
});

const AnswerViewSchema = Type.Object({ rcode: Type.String(), addresses: Type.Array(Type.String()), ttl: Type.Integer() });

const AnswerChangesSchema = Type.Object({
  source: Type.Union([Type.Literal('request'), Type.Literal('recent'), Type.Literal('built-in')], { description: 'where the client sample came from' }),
  clients: Type.Integer(),
  compared: Type.Integer({ description: 'service × client × family lookups compared' }),
  services: Type.Object({
    compared: Type.Integer({ description: 'services whose answers were compared' }),
    unchanged: Type.Integer({ description: 'services with the same definition, regions and region health before and after: not asked, they cannot move' }),
    cut: Type.Integer({ description: 'services that might move but were left out: comparing them would pass admin.dryRunMaxLookups' }),
  }),
  truncated: Type.Boolean({ description: 'true when admin.dryRunMaxLookups left services out (services.cut > 0)' }),
  changed: Type.Array(
    Type.Object({
      service: Type.String(),
      client: Type.String(),
      qtype: Type.Union([Type.Literal('A'), Type.Literal('AAAA')]),
      before: Nullable(AnswerViewSchema),
      after: Nullable(AnswerViewSchema),
    }),
  ),
});

/** What every write returns (common.ts `sendOutcome`), with the new (or current) version as ETag. */
export const ChangeResultSchema = Type.Object(
  {
    version: Type.Integer({ description: 'the version created (committed), or the current one (unchanged, dry run)' }),
    action: Type.Optional(Type.String({ description: 'committed: what was done, e.g. region.weight' })),
    target: Type.Optional(Type.String({ description: 'committed: what it was done to, e.g. region/eu-west' })),
    diff: Type.Array(DiffEntrySchema),
    unchanged: Type.Optional(Type.Literal(true, { description: 'the change was already in force: no version was created' })),
    dryRun: Type.Optional(Type.Literal(true)),
    answers: Type.Optional(AnswerChangesSchema),
  },
  { additionalProperties: false, description: 'committed: version, action, target, diff. Unchanged: version, unchanged, an empty diff. Dry run: dryRun, version, diff, answers.' },
);

/** A write: 200 (201 when it created the resource). */
export const changeResponses = { 200: ChangeResultSchema, 201: ChangeResultSchema };

const VersionMetaProperties = {
  version: Type.Integer(),
  author: Type.String(),
  time: Time,
  reason: Type.String(),
  action: Type.String(),
  target: Type.String(),
};

export const VersionListSchema = Type.Array(Type.Object(VersionMetaProperties, { additionalProperties: false }));
export const VersionRecordSchema = Type.Object({ ...VersionMetaProperties, document: ConfigDocumentSchema, diff: Type.Array(DiffEntrySchema) }, { additionalProperties: false });

export const AuditListSchema = Type.Array(
  Type.Object(
    {
      seq: Type.Integer(),
      time: Time,
      author: Type.String(),
      action: Type.String(),
      target: Type.String(),
      version: Nullable(Type.Integer()),
      reason: Type.String(),
      detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    },
    { additionalProperties: false },
  ),
);

export const ConfigResponseSchema = Type.Object({ version: Type.Integer(), author: Type.String(), time: Time, document: ConfigDocumentSchema }, { additionalProperties: false });
export const StatusSchema = Type.Object(
  {
    store: Type.String({ description: 'file or redis' }),
    storeReachable: Type.Boolean({ description: 'false while the store cannot be reached: reads then come from the version this node serves, and writes get MERIDIAN_ERR_STORE_UNAVAILABLE' }),
    head: Nullable(Type.Integer({ description: 'newest version in the store; null while it cannot be reached' })),
    applied: Type.Integer({ description: 'version this node answers from' }),
  },
  { additionalProperties: false },
);

/** A region as GET shows it: its config, and `health`, what this node's answers act on (read-only). */
export const RegionViewSchema = Type.Object(
  {
    ...RegionSchema.properties,
    health: Nullable(
      Type.Object(
        {
          state: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('drained')], { description: 'the effective state: probes, overrides and the configured state combined' }),
          source: Type.Union([Type.Literal('probes'), Type.Literal('override'), Type.Literal('config'), Type.Literal('empty')], { description: 'what decided it (empty: no endpoints, so up)' }),
          endpointsUp: Type.Integer(),
          endpointsCounted: Type.Integer({ description: 'endpoints that count (not drained)' }),
        },
        { additionalProperties: false },
      ),
      { description: 'read-only, ignored by PUT; null while this node does not serve the region yet' },
    ),
  },
  { additionalProperties: false },
);
export const RegionListSchema = Type.Array(RegionViewSchema);

const State = Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('drained')]);
const OverrideInForce = Nullable(Type.Object({ state: State, reason: Type.String(), author: Type.String(), expiresAt: Nullable(Time) }, { additionalProperties: false }), {
  description: 'the override in force on it, if any',
});

/** GET /v1/health (src/admin/health-report.ts). */
export const HealthReportSchema = Type.Object(
  {
    version: Type.Integer({ description: 'config version this node answers from' }),
    vantages: Type.Array(Type.Object({ vantage: Type.String(), region: Nullable(Type.String()), heartbeatAt: Time }, { additionalProperties: false }), {
      description: 'the vantages whose views vote (heartbeat within its TTL)',
    }),
    regions: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          state: State,
          source: Type.Union([Type.Literal('probes'), Type.Literal('override'), Type.Literal('config'), Type.Literal('empty')]),
          endpointsUp: Type.Integer(),
          endpointsCounted: Type.Integer(),
          override: OverrideInForce,
          endpoints: Type.Array(
            Type.Object(
              {
                id: Type.String(),
                state: State,
                source: Type.Union([Type.Literal('probes'), Type.Literal('override'), Type.Literal('cold')], { description: 'cold: no live vantage reports it (health.coldStart decides)' }),
                up: Type.Integer({ description: 'live vantages that see it up' }),
                down: Type.Integer({ description: 'live vantages that see it down' }),
                live: Type.Integer({ description: 'live vantages that report it (the quorum denominator)' }),
                override: OverrideInForce,
                votes: Type.Array(
                  Type.Object(
                    {
                      vantage: Type.String(),
                      status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
                      since: Time,
                      checkedAt: Time,
                      rttMs: Nullable(Type.Number()),
                      error: Nullable(Type.String()),
                    },
                    { additionalProperties: false },
                  ),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export const EndpointListSchema = Type.Array(EndpointSchema);
export const ServiceListSchema = Type.Array(ServiceSchema);
export const ZoneListSchema = Type.Array(Type.Object({ origin: Type.String(), records: Type.Integer({ description: 'number of records' }) }, { additionalProperties: false }));

export const DrainStatusSchema = Type.Object(
  {
    region: Type.String(),
    phase: Type.Union([Type.Literal('none'), Type.Literal('lowering'), Type.Literal('drained')]),
    version: Type.Integer({ description: 'config version this status was read from' }),
    ttl: Nullable(Type.Integer()),
    startedAt: Nullable(Time),
    completeAt: Nullable(Time),
    remainingSeconds: Type.Number(),
    forwarderConnections: Nullable(Type.Integer({ description: "connections still open through the region's forwarders; null = no load report" })),
    dryRun: Type.Optional(Type.Literal(true, { description: 'with ?dryRun=true: nothing was changed; diff (and, for a start, answers) show what would be' })),
    diff: Type.Optional(Type.Array(DiffEntrySchema)),
    answers: Type.Optional(AnswerChangesSchema),
  },
  { additionalProperties: false },
);

export const OverrideSchema = Type.Object(
  {
    scope: Type.String({ description: 'region/ID or endpoint/REGION/ID' }),
    state: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('drained')]),
    expiresAt: Nullable(Time),
    reason: Type.String(),
    author: Type.String(),
    createdAt: Time,
  },
  { additionalProperties: false },
);
export const OverrideListSchema = Type.Array(OverrideSchema);
export const OverrideClearedSchema = Type.Object({ scope: Type.String(), cleared: Type.Literal(true) }, { additionalProperties: false });
/** `?dryRun=true` on an override: what is in force for the scope, what would be, and the answers that would move. */
export const OverrideDryRunSchema = Type.Object(
  {
    dryRun: Type.Literal(true),
    scope: Type.String(),
    before: Nullable(OverrideSchema, { description: 'the override in force for this scope now' }),
    after: Nullable(OverrideSchema, { description: 'the override that would be in force (null: cleared)' }),
    answers: AnswerChangesSchema,
  },
  { additionalProperties: false },
);

export const TokenListSchema = Type.Array(
  Type.Object(
    {
      name: Type.String(),
      role: RoleSchema,
      createdAt: Nullable(Time),
      createdBy: Nullable(Type.String()),
      source: Type.Union([Type.Literal('store'), Type.Literal('config')]),
    },
    { additionalProperties: false },
  ),
);
export const TokenCreatedSchema = Type.Object({ name: Type.String(), role: RoleSchema, secret: Type.String({ description: 'shown only in this response' }) }, { additionalProperties: false });
export const TokenDeletedSchema = Type.Object({ name: Type.String(), deleted: Type.Literal(true) }, { additionalProperties: false });

export const ExplanationSchema = Type.Object(
  {
    version: Type.Integer({ description: 'config version the explanation was computed on' }),
    name: Type.String({ description: 'the name asked about' }),
    cnames: Type.Array(Type.String(), { description: 'in-zone CNAMEs followed from name to the service (owner CNAME target); empty when name is the service' }),
    service: Type.String(),
    qtype: Type.Union([Type.Literal('A'), Type.Literal('AAAA')]),
    client: Type.String(),
    ecs: Nullable(Type.String({ description: 'the client subnet the query carries, as sent (0.0.0.0/0 opts out); null without ECS' })),
    chain: Type.Array(Type.String()),
    steps: Type.Array(Type.String()),
    rcode: Type.Union([Type.Literal('NOERROR'), Type.Literal('SERVFAIL')]),
    addresses: Type.Array(Type.String()),
    ttl: Type.Integer(),
    scope: Type.Integer({ description: 'ECS scope of the answer; 0 for a /0 source and without ECS (the reply then carries no option)' }),
    allDown: Type.Boolean(),
  },
  { additionalProperties: false },
);
