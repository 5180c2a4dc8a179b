/**
 * Loads and validates the YAML config and every zone file it names, returning either a complete
 * configuration or every problem found as `file:line: reason`. Nothing is half-applied: callers
 * swap in the result only when the error list is empty.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { canonicalOrigin, parseZoneText } from '../zone/parse.js';
import { formatSourceError, RRType, type SourceError } from '../zone/types.js';
import { dedupe, validateZone } from '../zone/validate.js';
import { cnameChainWarnings, zoneCnames } from '../zone/chains.js';
import { compileZone, type Zone } from '../zone/zone.js';
import { owningOrigin, serviceZoneClashes, zoneSourceFromText, type ConfigDocument, type ZoneSource } from './document.js';
import { parseListen, type ListenAddress } from './listen.js';
import { compileRouting, type CompiledRouting } from './routing.js';
import { deniedEndpoints, servicePorts, TargetPolicy } from './targets.js';
import { configSchema, type ConfigSource, type DnsConfig, type GeoConfig, type HealthConfig, type RegionSource } from './schema.js';
import { schemaMessage } from './schema-messages.js';
import { checkRegionBlocks, configSections, pathOf, type Sections } from './sections.js';

// Components import parseListen from listen.ts; it stays exported here for the roles and commands.
export { parseListen, type ListenAddress };

/**
 * A loaded config: the sections `src/config/` owns, and every registered component's compiled
 * section (`Sections`: `forward`, `admin`, `redis` …, each typed by its component).
 */
export interface LoadedConfig extends Sections {
  file: string;
  dns: DnsConfig;
  listen: ListenAddress[];
  zones: Zone[];
  geo: GeoConfig;
  health: HealthConfig;
  /** Where health checks may connect (health.targets and this node's own service ports). */
  targets: TargetPolicy;
  metricsListen: ListenAddress | null;
  routing: CompiledRouting;
  /** Zones, regions and services as a config document: what seeds an empty config store. */
  document: ConfigDocument;
  /** Accepted but suspect settings, as `file:line` (`meridian check` prints them, `serve` logs them). */
  warnings: SourceError[];
  /**
   * The line of each service's `policy.geo.subdivisions` in the file, by service name: the geo
   * database decides whether those rules can match, after load (`meridian check` points there).
   */
  subdivisionLines?: ReadonlyMap<string, number>;
}

export type LoadResult = { ok: true; config: LoadedConfig } | { ok: false; errors: SourceError[] };

/** 1-based line of the YAML node at `path`, or of its nearest existing ancestor. */
function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number {
  for (let p = path; ; p = p.slice(0, -1)) {
    const node = p.length ? doc.getIn(p, true) : doc.contents;
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    if (p.length === 0) return 1;
  }
}

export function loadConfigText(text: string, file: string): LoadResult {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => ({ file, line: e.linePos?.[0]?.line ?? 1, reason: e.message.split('\n')[0]! })),
    };
  }
  const raw: unknown = doc.toJS() ?? {};
  const sections = configSections();
  const schema = configSchema(Object.fromEntries(sections.map((s) => [s.key, s.optional ? Type.Optional(s.schema) : s.schema])));
  const withDefaults = Value.Default(schema, structuredClone(raw));
  const errors: SourceError[] = [];
  const schemaError = (path: (string | number)[], e: ValueError, pointer: string): void => {
    errors.push({ file, line: lineOf(doc, counter, path), reason: `${pointer || '/'}: ${schemaMessage(e)}` });
  };
  for (const e of Value.Errors(schema, withDefaults)) schemaError(pathOf(e.path), e, e.path);
  const source = withDefaults as ConfigSource & Record<string, unknown>;
  for (const { path, pointer, error } of checkRegionBlocks(source.regions)) schemaError(path, error, pointer);
  if (errors.length) return { ok: false, errors };
  const regions = source.regions as RegionSource[];

  const listen: ListenAddress[] = [];
  source.dns.listen.forEach((text, i) => {
    const parsed = parseListen(text);
    if (typeof parsed === 'string') errors.push({ file, line: lineOf(doc, counter, ['dns', 'listen', i]), reason: parsed });
    else listen.push(parsed);
  });

  const metricsListen = source.metrics.listen === null ? null : parseListen(source.metrics.listen);
  if (typeof metricsListen === 'string') errors.push({ file, line: lineOf(doc, counter, ['metrics', 'listen']), reason: `metrics: ${metricsListen}` });

  const origins = source.zones.map((z) => canonicalOrigin(z.origin));
  const { routing, problems, warnings } = compileRouting(regions, source.services, origins, source.health.probe);
  for (const p of problems) errors.push({ file, line: lineOf(doc, counter, p.path), reason: p.reason });
  const targets = TargetPolicy.build(source.health.targets, servicePorts(source, parseListen));
  if (Array.isArray(targets)) errors.push(...targets.map((reason) => ({ file, line: lineOf(doc, counter, ['health', 'targets']), reason })));
  else for (const p of deniedEndpoints(targets, regions)) errors.push({ file, line: lineOf(doc, counter, p.path), reason: p.reason });
  const compiledSections: Record<string, unknown> = {};
  for (const section of sections) {
    const block = source[section.key];
    if (block === undefined) {
      compiledSections[section.key] = null;
      continue;
    }
    const { value, problems: sectionProblems } = section.compile(block, { file, regions, routing, health: source.health });
    for (const p of sectionProblems) errors.push({ file, line: lineOf(doc, counter, p.path), reason: p.reason });
    compiledSections[section.key] = value;
  }

  const zones: Zone[] = [];
  const zoneWarnings: SourceError[] = [];
  const zoneSources: ZoneSource[] = [];
  const seen = new Set<string>();
  source.zones.forEach((ref, i) => {
    const line = lineOf(doc, counter, ['zones', i]);
    const origin = origins[i]!;
    if (seen.has(origin)) {
      errors.push({ file, line, reason: `zone ${origin} is listed twice` });
      return;
    }
    seen.add(origin);
    const zoneFile = resolvePath(dirname(file), ref.file);
    let zoneText: string;
    try {
      zoneText = readFileSync(zoneFile, 'utf8');
    } catch (err) {
      errors.push({ file, line, reason: `cannot read zone file ${zoneFile}: ${(err as NodeJS.ErrnoException).code ?? err}` });
      return;
    }
    // A service belongs to the most specific zone that contains it.
    const mine = routing.services.filter((s) => owningOrigin(s.name, origins) === origin);
    const zone = loadZoneText(
      zoneText,
      zoneFile,
      origin,
      mine.map((s) => s.name),
      zoneWarnings,
    );
    if (Array.isArray(zone)) {
      errors.push(...zone);
      return;
    }
    zones.push(zone);
    zoneSources.push(zoneSourceFromText(zoneText, origin, zoneFile));
    for (const svc of mine) {
      const at = lineOf(doc, counter, ['services', source.services.findIndex((s) => canonicalOrigin(s.name) === svc.name), 'name']);
      for (const reason of serviceZoneClashes(zone, svc.name)) errors.push({ file, line: at, reason });
    }
  });
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    config: {
      ...(compiledSections as unknown as Sections),
      file,
      dns: source.dns,
      listen,
      zones,
      geo: source.geo,
      health: source.health,
      targets: targets as TargetPolicy,
      metricsListen: metricsListen as ListenAddress | null,
      routing,
      document: { zones: zoneSources, regions, services: source.services },
      warnings: [...warnings.map((w) => ({ file, line: lineOf(doc, counter, w.path), reason: w.reason })), ...zoneWarnings],
      subdivisionLines: new Map(
        source.services.flatMap((s, i) => {
          const def = routing.services.find((d) => d.name === canonicalOrigin(s.name));
          return def?.chain.subdivisions.length ? [[def.name, lineOf(doc, counter, ['services', i, 'policy', 'geo', 'subdivisions'])] as const] : [];
        }),
      ),
    },
  };
}

/**
 * Parses, validates and compiles one zone file; returns its errors instead when there are any.
 * What is served but will not work (CNAME loops, chains past the limit) goes to `warnings`.
 */
export function loadZoneText(text: string, file: string, origin: string, serviceNames: string[] = [], warnings?: SourceError[]): Zone | SourceError[] {
  const parsed = parseZoneText(text, { file, origin });
  if (parsed.errors.length) return parsed.errors;
  const records = dedupe(parsed.records);
  const problems = validateZone(records, { file, origin });
  if (problems.length) return problems;
  const zone = compileZone(canonicalOrigin(origin), records, serviceNames);
  if (warnings) {
    const line = new Map(records.filter((r) => r.type === RRType.CNAME).map((r) => [r.name, r.line] as const));
    for (const w of cnameChainWarnings(zoneCnames(zone))) {
      // A loop at its last record in the file (as pair errors are), a long chain at its head.
      const at = w.reason.includes('_LOOP') ? Math.max(...w.owners.map((o) => line.get(o) ?? 0)) : (line.get(w.owners[0]!) ?? 0);
      warnings.push({ file, line: at, reason: w.reason });
    }
  }
  return zone;
}

export function loadConfigFile(path: string): LoadResult {
  const file = resolvePath(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file, line: 0, reason: `cannot read config: ${(err as NodeJS.ErrnoException).code ?? err}` }] };
  }
  return loadConfigText(text, file);
}

/** A config that cannot start a role: every problem as `file:line: reason`. */
export class ConfigError extends Error {
  readonly code = 'MERIDIAN_ERR_INVALID_CONFIG';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** loadConfigFile for a role's start, where any problem is fatal. */
export function loadConfigOrThrow(path: string): LoadedConfig {
  const loaded = loadConfigFile(path);
  if (!loaded.ok) throw new ConfigError(loaded.errors.map(formatSourceError));
  return loaded.config;
}
