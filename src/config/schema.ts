/**
 * Schema of Meridian's YAML configuration, with defaults. The reasons for each default are in
 * src/config/README.md; keep the two in step.
 * @module
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TargetsSchema } from './targets.js';

export const TcpSchema = Type.Object(
  {
    idleTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
    ioTimeoutMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 2_000 }),
    maxConnections: Type.Integer({ minimum: 1, maximum: 100_000, default: 256 }),
  },
  { additionalProperties: false, default: {} },
);

/** Violations inside `dns.rrl` carry this code in `meridian check` and `serve` (load.ts). */
export const RRL_CONFIG = 'MERIDIAN_ERR_RRL_CONFIG' as const;
const rrlCoded = { errorCode: RRL_CONFIG };
const perSecond = (options: { default?: number } = {}) => Type.Integer({ minimum: 0, maximum: 1_000_000, ...options, ...rrlCoded });

/** Response rate limiting (src/dns/rrl.ts); keys, defaults and the reason for each in src/dns/README.md. */
export const RrlSchema = Type.Object(
  {
    responsesPerSecond: perSecond({ default: 0 }),
    nxdomainsPerSecond: Type.Optional(perSecond()),
    nodataPerSecond: Type.Optional(perSecond()),
    referralsPerSecond: Type.Optional(perSecond()),
    errorsPerSecond: Type.Optional(perSecond()),
    allPerSecond: perSecond({ default: 0 }),
    window: Type.Integer({ minimum: 1, maximum: 3600, default: 15, ...rrlCoded }),
    slip: Type.Integer({ minimum: 0, maximum: 10, default: 2, ...rrlCoded }),
    // BIND's bounds (bin/named/server.c configure_rrl; DNS_RRL_MAX_PREFIX 64): shorter lumps whole
    // providers into one bucket (/0: every client shares one), longer splits a site's addresses apart.
    ipv4PrefixLength: Type.Integer({ minimum: 8, maximum: 32, default: 24, ...rrlCoded }),
    ipv6PrefixLength: Type.Integer({ minimum: 16, maximum: 64, default: 56, ...rrlCoded }),
    exemptClients: Type.Array(Type.String({ minLength: 1, ...rrlCoded }), { default: [], ...rrlCoded }),
    logOnly: Type.Boolean({ default: false, ...rrlCoded }),
    tableSize: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 20_000, ...rrlCoded }),
  },
  { additionalProperties: false, default: {}, ...rrlCoded },
);

export const DnsSchema = Type.Object(
  {
    listen: Type.Array(Type.String(), { minItems: 1, default: ['127.0.0.1:1053'] }),
    udpSize: Type.Integer({ minimum: 512, maximum: 4096, default: 1232 }),
    tcp: TcpSchema,
    chaos: Type.Boolean({ default: false }),
    identity: Type.Optional(Type.String({ maxLength: 255 })),
    errorRateLimit: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 100 }),
    answerCacheEntries: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 }),
    rrl: RrlSchema,
    // DNS worker processes of `meridian serve` (src/node/workers/): auto = the number of cores.
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], { default: 'auto' }),
  },
  { additionalProperties: false, default: {} },
);

// No line breaks, and nothing that would start a directive or a comment where a field begins: each
// record becomes exactly one zone-file line, so a field can never smuggle in a second record.
const oneLine = '^[^\\r\\n]*$';

export const ZoneRecordSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s;$()"\\\\]+$', description: 'owner: relative to the origin, absolute with a trailing dot, or @' }),
    ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    type: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,15}$', description: 'mnemonic (A, AAAA, MX …) or TYPEnnn' }),
    data: Type.String({ minLength: 1, maxLength: 65_535, pattern: oneLine, description: 'RDATA in zone-file presentation form' }),
  },
  { additionalProperties: false },
);

/** A zone of the YAML: its zone file, or (as `meridian export` writes it) its records inline; one of the two. */
export const ZoneRefSchema = Type.Object(
  {
    origin: Type.String({ minLength: 1 }),
    file: Type.Optional(Type.String({ minLength: 1 })),
    records: Type.Optional(Type.Array(ZoneRecordSchema, { maxItems: 100_000 })),
  },
  { additionalProperties: false },
);
export type ZoneRef = Static<typeof ZoneRefSchema>;

const Continent = Type.Union(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'].map((c) => Type.Literal(c)));

export const EndpointSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' })),
    address: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    // Validated by src/probe/types.ts parseProbeCheck (one parser for config and probes).
    check: Type.Unknown({ default: {} }),
  },
  { additionalProperties: false },
);

export const HealthSchema = Type.Object(
  {
    redisUrl: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
    quorum: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5 }),
    regionUpFraction: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
    heartbeatTtlMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 15_000 }),
    coldStart: Type.Union([Type.Literal('up'), Type.Literal('down')], { default: 'up' }),
    overridesFile: Type.String({ minLength: 1, default: 'overrides.json' }),
    resyncIntervalMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
    // Validated by src/probe/types.ts parseProbeDefaults.
    probe: Type.Unknown({ default: {} }),
    // Where checks may connect (src/config/targets.ts, src/probe/README.md "Targets").
    targets: TargetsSchema,
  },
  { additionalProperties: false, default: {} },
);

export const RegionSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    location: Type.Object(
      {
        lat: Type.Number({ minimum: -90, maximum: 90 }),
        lon: Type.Number({ minimum: -180, maximum: 180 }),
        continent: Continent,
        country: Type.String({ pattern: '^[A-Z]{2}$' }),
      },
      { additionalProperties: false },
    ),
    addresses: Type.Object(
      {
        ipv4: Type.Array(Type.String(), { default: [] }),
        ipv6: Type.Array(Type.String(), { default: [] }),
      },
      { additionalProperties: false },
    ),
    weight: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 100 }),
    state: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('drained')], { default: 'up' }),
    downAddresses: Type.Array(Type.String(), { default: [] }),
    endpoints: Type.Array(EndpointSchema, { default: [] }),
    /** Set by the admin API's drain (src/admin/drain.ts): answers carrying the region get `ttl` while it drains. */
    drain: Type.Optional(
      Type.Object(
        {
          phase: Type.Union([Type.Literal('lowering'), Type.Literal('drained')]),
          ttl: Type.Integer({ minimum: 0, maximum: 86_400 }),
          startedAt: Type.String(),
          completeAt: Type.String(),
          /** The region's state before the drain, restored when the drain is cancelled. */
          previousState: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down')])),
        },
        { additionalProperties: false },
      ),
    ),
    // The region's L4 forwarder (src/forward/README.md); absent = defaults, no relay address. Its
    // schema is the forward section's region block (sections.ts checkRegionBlocks checks it).
    forwarder: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const ServiceSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    ttl: Type.Integer({ minimum: 0, maximum: 86_400, default: 30 }),
    regions: Type.Array(Type.String(), { minItems: 1 }),
    answers: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
    policy: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    allDown: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const GeoSchema = Type.Object(
  {
    database: Type.String({ minLength: 1, default: 'embedded' }),
    reloadCron: Type.String({ minLength: 1, default: '17 4 * * *' }),
  },
  { additionalProperties: false, default: {} },
);

export const MetricsSchema = Type.Object(
  {
    listen: Type.Union([Type.String(), Type.Null()], { default: null }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * The type of each block a component adds to every region (`regions[].<key>`, registered with its
 * schema in sections.ts); components add theirs by declaration merging.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface RegionBlocks {}

/** The sections `src/config/` owns; components' sections (sections.ts) are added beside them. */
export const CoreConfigProperties = {
  dns: DnsSchema,
  zones: Type.Array(ZoneRefSchema, { minItems: 1 }),
  geo: GeoSchema,
  metrics: MetricsSchema,
  health: HealthSchema,
  regions: Type.Array(RegionSchema, { default: [] }),
  services: Type.Array(ServiceSchema, { default: [] }),
};

/** The whole YAML schema: the core sections and the registered components' ones, nothing else. */
export function configSchema(sections: Record<string, TSchema>): TSchema {
  return Type.Object({ ...CoreConfigProperties, ...sections }, { additionalProperties: false });
}

/** The core sections as written, with defaults (components' sections are typed by them). */
export type ConfigSource = { [K in keyof typeof CoreConfigProperties]: Static<(typeof CoreConfigProperties)[K]> };
export type DnsConfig = Static<typeof DnsSchema>;
/** A region as written, its components' blocks typed by them (`RegionBlocks`). */
export type RegionSource = Omit<Static<typeof RegionSchema>, keyof RegionBlocks> & RegionBlocks;
export type ServiceSource = Static<typeof ServiceSchema>;
export type GeoConfig = Static<typeof GeoSchema>;
export type HealthConfig = Static<typeof HealthSchema>;
export type EndpointSource = Static<typeof EndpointSchema>;
