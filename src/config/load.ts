/**
 * The YAML config as plain data: read with a line counter, defaults filled, validated against the
 * core schema and every registered section's, listen addresses parsed (`readConfigText`). The
 * compile steps that need components (routing, sections, zone files) follow in src/node/load.ts,
 * which returns either a complete `LoadedConfig` or every problem found as `file:line: reason`.
 * Nothing is half-applied: callers swap in the result only when the error list is empty.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { CompiledDocument, ConfigDocument } from './document.js';
import { tooDeep, tooDeepReason } from './depth.js';
import { aliasBombReason, cstFacts, lexTooDeep, MAX_ALIAS_COUNT, yamlTooDeepReason } from './yaml-bounds.js';
import { parseListen, type ListenAddress } from './listen.js';
import { configSchema, RRL_CONFIG, type ZoneRef, type ConfigSource, type DnsConfig, type GeoConfig, type HealthConfig, type RegionSource } from './schema.js';
import { oncePerMissing, schemaMessage } from './schema-messages.js';
import { parseCidr } from './cidr.js';
import type { TargetPolicy } from './targets.js';
import { checkRegionBlocks, configSections, pathOf, type ConfigSection, type Sections } from './sections.js';
import type { SourceError } from './source-error.js';

// Components import parseListen from listen.ts; it stays exported here for the roles and commands.
export { parseListen, type ListenAddress };

/**
 * A loaded config: the sections `src/config/` owns, the compiled document (`zones` and `routing`,
 * typed by the components that compile them) and every registered component's compiled section
 * (`Sections`: `forward`, `admin`, `redis` …, each typed by its component).
 */
export interface LoadedConfig extends Sections, CompiledDocument {
  file: string;
  dns: DnsConfig;
  listen: ListenAddress[];
  geo: GeoConfig;
  health: HealthConfig;
  /** Where health checks may connect (health.targets and this node's own service ports). */
  targets: TargetPolicy;
  metricsListen: ListenAddress | null;
  /** Zones, regions and services as a config document: what seeds an empty config store. */
  document: ConfigDocument;
  /** Accepted but suspect settings, as `file:line` (`meridian check` prints them, `serve` logs them). */
  warnings: SourceError[];
  /**
   * The line of each service's `policy.geo.subdivisions` in the file, by service name: the geo
   * database decides whether those rules can match, after load (`meridian check` points there).
   */
  subdivisionLines?: ReadonlyMap<string, number>;
  /** 1-based line in `file` of the YAML node at `path` (or its nearest ancestor): rules run after load (src/node/fds.ts) point there. */
  lineOf?: (path: (string | number)[]) => number;
}

export type LoadResult = { ok: true; config: LoadedConfig } | { ok: false; errors: SourceError[] };

/** The YAML as plain data, valid against every schema, and where each of its nodes is. */
export interface ConfigRead {
  /** The YAML with every default filled in, registered sections included. */
  source: ConfigSource & Record<string, unknown>;
  regions: RegionSource[];
  /** The registered sections, in registration order (the order their problems are reported in). */
  sections: ConfigSection[];
  listen: ListenAddress[];
  /** Null when absent or when it did not parse (then `errors` says why). */
  metricsListen: ListenAddress | null;
  /** 1-based line of the YAML node at `path`, or of its nearest existing ancestor. */
  lineOf(path: (string | number)[]): number;
}

/**
 * A YAML config with a syntax or schema error fails here with every such error; otherwise the
 * compile steps run too, and `errors` (bad listen addresses) are reported along with theirs.
 */
export type ReadResult = { ok: true; read: ConfigRead; errors: SourceError[] } | { ok: false; errors: SourceError[]; zones?: ZoneRef[] };

/**
 * The zone files a YAML with syntax errors still names, as far as it could be read: so that the
 * zone files' own problems are found in the same run (`meridian check` reports both).
 */
function zoneRefsOf(doc: Document): ZoneRef[] {
  let zones: unknown;
  try {
    zones = (doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as { zones?: unknown } | null)?.zones;
  } catch {
    return [];
  }
  if (!Array.isArray(zones)) return [];
  return zones.filter((z): z is ZoneRef => typeof z === 'object' && z !== null && typeof z.origin === 'string' && typeof z.file === 'string');
}

/** 1-based line of the YAML node at `path`, or of its nearest existing ancestor. */
function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number {
  for (let p = path; ; p = p.slice(0, -1)) {
    const node = p.length ? doc.getIn(p, true) : doc.contents;
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    if (p.length === 0) return 1;
  }
}

export function readConfigText(text: string, file: string): ReadResult {
  // Bounded before the composer recurses and before aliases expand (yaml-bounds.ts).
  const lexed = lexTooDeep(text);
  if (lexed !== null) return { ok: false, errors: [{ file, line: text.slice(0, lexed).split('\n').length, reason: yamlTooDeepReason }] };
  const lines = new LineCounter();
  const cst = cstFacts(text, lines);
  if (cst.tooDeep !== null) return { ok: false, errors: [{ file, line: lines.linePos(cst.tooDeep).line, reason: yamlTooDeepReason }] };
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    // Without prettyErrors the library leaves linePos unset: the error's offset is where it is.
    const errors = doc.errors.map((e) => {
      const { line, col } = counter.linePos(e.pos[0]);
      return { file, line, column: col, reason: `YAML syntax error: ${e.message.split('\n')[0]!}` };
    });
    return { ok: false, errors, zones: zoneRefsOf(doc) };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    return { ok: false, errors: [{ file, line: cst.firstAlias === null ? 1 : lines.linePos(cst.firstAlias).line, reason: aliasBombReason }] };
  }
  // Before the clone and the schema checks below, which recurse (depth.ts).
  const deep = tooDeep(raw);
  if (deep) return { ok: false, errors: [{ file, line: lineOf(doc, counter, deep), reason: tooDeepReason(deep.join('.')) }] };
  const sections = configSections();
  const schema = configSchema(Object.fromEntries(sections.map((s) => [s.key, s.optional ? Type.Optional(s.schema) : s.schema])));
  const withDefaults = Value.Default(schema, structuredClone(raw));
  const errors: SourceError[] = [];
  const schemaError = (path: (string | number)[], e: ValueError, pointer: string): void => {
    // A schema node may name the coded error its violations are (dns.rrl's: MERIDIAN_ERR_RRL_CONFIG).
    const code = (e.schema as { errorCode?: string }).errorCode;
    errors.push({ file, line: lineOf(doc, counter, path), reason: `${code ? `${code}: ` : ''}${pointer || '/'}: ${schemaMessage(e)}` });
  };
  for (const e of oncePerMissing(Value.Errors(schema, withDefaults))) schemaError(pathOf(e.path), e, e.path);
  const source = withDefaults as ConfigSource & Record<string, unknown>;
  for (const { path, pointer, error } of checkRegionBlocks(source.regions)) schemaError(path, error, pointer);
  if (errors.length) return { ok: false, errors };

  const listen: ListenAddress[] = [];
  source.dns.listen.forEach((text, i) => {
    const parsed = parseListen(text);
    if (typeof parsed === 'string') errors.push({ file, line: lineOf(doc, counter, ['dns', 'listen', i]), reason: parsed });
    else listen.push(parsed);
  });

  source.dns.rrl.exemptClients.forEach((text, i) => {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') errors.push({ file, line: lineOf(doc, counter, ['dns', 'rrl', 'exemptClients', i]), reason: `${RRL_CONFIG}: /dns/rrl/exemptClients/${i}: ${cidr}` });
  });

  const metricsListen = source.metrics.listen === null ? null : parseListen(source.metrics.listen);
  if (typeof metricsListen === 'string') errors.push({ file, line: lineOf(doc, counter, ['metrics', 'listen']), reason: `metrics: ${metricsListen}` });

  const read: ConfigRead = {
    source,
    regions: source.regions as RegionSource[],
    sections,
    listen,
    metricsListen: typeof metricsListen === 'string' ? null : metricsListen,
    lineOf: (path) => lineOf(doc, counter, path),
  };
  return { ok: true, read, errors };
}

/** A config that cannot start a role: every problem as `file:line: reason`. */
export class ConfigError extends Error {
  readonly code = 'MERIDIAN_ERR_INVALID_CONFIG';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}
