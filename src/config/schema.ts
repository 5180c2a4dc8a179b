/**
 * Schema of Meridian's YAML configuration, with defaults. The reasons for each default are in
 * src/config/README.md; keep the two in step.
 * @module
 */
import { type Static, Type } from '@sinclair/typebox';

export const TcpSchema = Type.Object(
  {
    idleTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
    ioTimeoutMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 2_000 }),
    maxConnections: Type.Integer({ minimum: 1, maximum: 100_000, default: 256 }),
  },
  { additionalProperties: false, default: {} },
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
  },
  { additionalProperties: false, default: {} },
);

export const ZoneRefSchema = Type.Object(
  {
    origin: Type.String({ minLength: 1 }),
    file: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    dns: DnsSchema,
    zones: Type.Array(ZoneRefSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type ConfigSource = Static<typeof ConfigSchema>;
export type DnsConfig = Static<typeof DnsSchema>;
