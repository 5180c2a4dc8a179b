/**
 * The config document: the part of Meridian's configuration that the admin API edits and the config
 * store versions (zones with their records, regions with their endpoints, services). Process settings
 * (listen addresses, geo, health, metrics, admin) stay in the YAML file.
 *
 * This file holds the document's schema and types, plain data only. It is compiled
 * (src/node/document.ts) with the same parser, validator and routing compiler as the YAML file, so
 * the API and the file can never disagree about what is valid. Problems carry RFC 6901 paths into
 * the document (`/regions/1/weight`) so that API errors name the field.
 * @module
 */
import { type Static, Type } from '@sinclair/typebox';
import { RegionSchema, ServiceSchema, ZoneRecordSchema, type RegionSource } from './schema.js';

export { ZoneRecordSchema };

export const ZoneSourceSchema = Type.Object(
  {
    origin: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_.-]+$' }),
    records: Type.Array(ZoneRecordSchema, { maxItems: 100_000 }),
  },
  { additionalProperties: false },
);

export const ConfigDocumentSchema = Type.Object(
  {
    zones: Type.Array(ZoneSourceSchema, { minItems: 1 }),
    regions: Type.Array(RegionSchema, { default: [] }),
    services: Type.Array(ServiceSchema, { default: [] }),
  },
  { additionalProperties: false },
);

export type ZoneRecordSource = Static<typeof ZoneRecordSchema>;
export type ZoneSource = Static<typeof ZoneSourceSchema>;
/** A document; its regions' component blocks typed by their components (schema.ts `RegionBlocks`). */
export type ConfigDocument = Omit<Static<typeof ConfigDocumentSchema>, 'regions'> & { regions: RegionSource[] };

/** Records without a TTL get this, as a `$TTL 3600` line would give them. */
export const DEFAULT_RECORD_TTL = 3600;

export interface DocumentProblem {
  /** RFC 6901 pointer into the document. */
  path: string;
  reason: string;
  /** A more specific error code than MERIDIAN_ERR_INVALID_CONFIG, for the API's reply. */
  code?: 'MERIDIAN_ERR_TARGET_DENIED' | 'MERIDIAN_ERR_INVALID_ADDRESS' | 'MERIDIAN_ERR_INVALID_FORWARDER';
}

/**
 * A compiled document: its zones and its routing. Their types belong to the components that compile
 * them, which add them here by declaration merging (`zones` in src/zone/load.ts, `routing` in
 * src/routing/compile.ts), so src/config/ names no component type.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface CompiledDocument {}

export type CompileResult = { ok: true; compiled: CompiledDocument; document: ConfigDocument } | { ok: false; problems: DocumentProblem[] };

export const pointer = (path: (string | number)[]): string => path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');

/** The zone-file text of a zone's records: line 2 + i is record i (line 1 is `$TTL`). */
export function zoneText(zone: ZoneSource): string {
  const lines = [`$TTL ${DEFAULT_RECORD_TTL}`];
  for (const r of zone.records) lines.push(`${r.name} ${r.ttl ?? ''} IN ${r.type} ${r.data}`);
  return lines.join('\n') + '\n';
}
