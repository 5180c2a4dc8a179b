/**
 * The YAML config loader: src/config/load.ts reads it as plain data, then this compiles what needs
 * the components (routing, every registered section, the zone files it names) and returns either a
 * complete `LoadedConfig` or every problem found as `file:line: reason`. Nothing is half-applied:
 * callers swap in the result only when the error list is empty. Load through src/node/config.ts,
 * which registers the sections first.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { zoneText, type ZoneSource } from '../config/document.js';
import { ConfigError, parseListen, readConfigText, type ConfigRead, type LoadedConfig, type LoadResult } from '../config/load.js';
import { nodeSockets } from '../config/listen.js';
import type { ZoneRef } from '../config/schema.js';
import type { Sections } from '../config/sections.js';
import { formatSourceError, type SourceError } from '../config/source-error.js';
import { deniedEndpoints, servicePorts, TargetPolicy } from '../config/targets.js';
import { formatRedisProblem, legacyUrlProblems } from '../redis/config.js';
import { compileRouting, type CompiledRouting } from '../routing/compile.js';
import { loadZoneText, owningOrigin, serviceZoneClashes } from '../zone/load.js';
import { canonicalOrigin } from '../zone/parse.js';
import { zoneSourceFromText } from '../zone/present.js';
import type { Zone } from '../zone/zone.js';

/**
 * How the loader reads the files a config names (the YAML, its zone files). A DNS worker process
 * loads the bytes its primary read and judged (src/node/workers/), never the files as they are on
 * disk later, so every process of a node runs the same config.
 */
export type ConfigReader = (path: string) => string;

export const readConfigFileUtf8: ConfigReader = (path) => readFileSync(path, 'utf8');

export function loadConfigText(text: string, file: string, readFile: ConfigReader = readConfigFileUtf8): LoadResult {
  const result = readConfigText(text, file);
  if (!result.ok) return { ok: false, errors: [...result.errors, ...zoneFileProblems(result.zones ?? [], file, readFile)] };
  const { read, errors } = result;
  const { source, regions, lineOf } = read;

  const origins = source.zones.map((z) => canonicalOrigin(z.origin));
  const { routing, problems, warnings } = compileRouting(regions, source.services, origins, source.health.probe);
  for (const p of problems) errors.push({ file, line: lineOf(p.path), reason: p.reason });
  const targets = TargetPolicy.build(source.health.targets, servicePorts(source, parseListen));
  if (Array.isArray(targets)) errors.push(...targets.map((reason) => ({ file, line: lineOf(['health', 'targets']), reason })));
  else for (const p of deniedEndpoints(targets, regions)) errors.push({ file, line: lineOf(p.path), reason: p.reason });
  if (source.health.redisUrl) for (const p of legacyUrlProblems(source.health.redisUrl)) errors.push({ file, line: lineOf(p.path), reason: formatRedisProblem(p) });
  const compiledSections = compileSections(read, file, routing, errors);
  const { zones, zoneSources, zoneWarnings } = loadZoneFiles(read, file, origins, routing, errors, readFile);
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    config: {
      ...(compiledSections as unknown as Sections),
      file,
      dns: source.dns,
      listen: read.listen,
      zones,
      geo: source.geo,
      health: source.health,
      targets: targets as TargetPolicy,
      metricsListen: read.metricsListen,
      routing,
      document: { zones: zoneSources, regions, services: source.services },
      warnings: [...warnings.map((w) => ({ file, line: lineOf(w.path), reason: w.reason })), ...zoneWarnings],
      lineOf,
      subdivisionLines: new Map(
        source.services.flatMap((s, i) => {
          const def = routing.services.find((d) => d.name === canonicalOrigin(s.name));
          return def?.chain.subdivisions.length ? [[def.name, lineOf(['services', i, 'policy', 'geo', 'subdivisions'])] as const] : [];
        }),
      ),
    },
  };
}

/** Every registered section's compiled value by key (null when an optional block is absent); problems go to `errors`. */
function compileSections({ source, regions, sections, lineOf, listen, metricsListen }: ConfigRead, file: string, routing: CompiledRouting, errors: SourceError[]): Record<string, unknown> {
  const compiledSections: Record<string, unknown> = {};
  const sockets = nodeSockets(listen, metricsListen, (source['admin'] as { listen?: string | null } | undefined)?.listen);
  for (const section of sections) {
    const block = source[section.key];
    if (block === undefined) {
      compiledSections[section.key] = null;
      continue;
    }
    const { value, problems: sectionProblems } = section.compile(block, { file, regions, routing, health: source.health, sockets });
    for (const p of sectionProblems) errors.push({ file, line: lineOf(p.path), reason: p.reason });
    compiledSections[section.key] = value;
  }
  return compiledSections;
}

/** Reads, parses, validates and compiles every zone file the YAML names; problems go to `errors`, CNAME chain warnings to `zoneWarnings`. */
function loadZoneFiles(
  { source, lineOf }: ConfigRead,
  file: string,
  origins: string[],
  routing: CompiledRouting,
  errors: SourceError[],
  readFile: ConfigReader,
): { zones: Zone[]; zoneSources: ZoneSource[]; zoneWarnings: SourceError[] } {
  const zones: Zone[] = [];
  const zoneWarnings: SourceError[] = [];
  const zoneSources: ZoneSource[] = [];
  const seen = new Set<string>();
  source.zones.forEach((ref, i) => {
    const line = lineOf(['zones', i]);
    const origin = origins[i]!;
    if (seen.has(origin)) {
      errors.push({ file, line, reason: `zone ${origin} is listed twice` });
      return;
    }
    seen.add(origin);
    const text = zoneTextOf(ref, i, file, lineOf, readFile);
    if ('error' in text) {
      errors.push({ file, line, reason: text.error });
      return;
    }
    const { zoneFile, zoneText, fromZone } = text;
    // A service belongs to the most specific zone that contains it.
    const mine = routing.services.filter((s) => owningOrigin(s.name, origins) === origin);
    const warnings: SourceError[] = [];
    const zone = loadZoneText(
      zoneText,
      zoneFile,
      origin,
      mine.map((s) => s.name),
      warnings,
    );
    zoneWarnings.push(...warnings.map(fromZone));
    if (Array.isArray(zone)) {
      errors.push(...zone.map(fromZone));
      return;
    }
    zones.push(zone);
    zoneSources.push(zoneSourceFromText(zoneText, origin, zoneFile));
    for (const svc of mine) {
      const at = lineOf(['services', source.services.findIndex((s) => canonicalOrigin(s.name) === svc.name), 'name']);
      for (const reason of serviceZoneClashes(zone, svc.name)) errors.push({ file, line: at, reason });
    }
  });
  return { zones, zoneSources, zoneWarnings };
}

/** The problems of the zone files a YAML that could not be read names (its own problems hide nothing). */
function zoneFileProblems(refs: ZoneRef[], file: string, readFile: ConfigReader): SourceError[] {
  return refs.flatMap((ref, i) => {
    const text = zoneTextOf(ref, i, file, () => 0, readFile);
    // A zone file that cannot be read is reported too (at the YAML, whose lines are unknown here).
    if ('error' in text) return ref.file !== undefined && ref.records === undefined ? [{ file, line: 0, reason: text.error }] : [];
    const zone = loadZoneText(text.zoneText, text.zoneFile, canonicalOrigin(ref.origin));
    return Array.isArray(zone) ? zone : [];
  });
}

/** A zone's text, where its problems are to be reported, or why it has none. */
export type ZoneTextOf = { zoneFile: string; zoneText: string; fromZone: (e: SourceError) => SourceError } | { error: string };

/**
 * The text of the YAML's zone `i`: its zone file (problems at their lines there), or its inline
 * records (problems at the record's line in the YAML: record j is line j + 2 of the text).
 */
export function zoneTextOf(ref: ZoneRef, i: number, file: string, lineOf: ConfigRead['lineOf'], readFile: ConfigReader): ZoneTextOf {
  if ((ref.file === undefined) === (ref.records === undefined))
    return { error: `zone ${ref.origin}: give either file (a zone file) or records (inline), not ${ref.file === undefined ? 'neither' : 'both'}` };
  if (ref.records !== undefined) {
    const fromZone = (e: SourceError): SourceError => ({ ...e, file, line: lineOf(['zones', i, 'records', Math.max(0, e.line - 2)]) });
    return { zoneFile: file, zoneText: zoneText({ origin: ref.origin, records: ref.records }), fromZone };
  }
  const zoneFile = resolvePath(dirname(file), ref.file!);
  try {
    return { zoneFile, zoneText: readFile(zoneFile), fromZone: (e) => e };
  } catch (err) {
    return { error: `cannot read zone file ${zoneFile}: ${(err as NodeJS.ErrnoException).code ?? err}` };
  }
}

/** The config file's absolute path and text, or why it cannot be read (as a load problem). */
export function readConfigSource(path: string, readFile: ConfigReader): { ok: true; file: string; text: string } | { ok: false; errors: SourceError[] } {
  const file = resolvePath(path);
  try {
    return { ok: true, file, text: readFile(file) };
  } catch (err) {
    return { ok: false, errors: [{ file, line: 0, reason: `cannot read config: ${(err as NodeJS.ErrnoException).code ?? err}` }] };
  }
}

export function loadConfigFile(path: string, readFile: ConfigReader = readConfigFileUtf8): LoadResult {
  const source = readConfigSource(path, readFile);
  return source.ok ? loadConfigText(source.text, source.file, readFile) : source;
}

/** loadConfigFile for a role's start, where any problem is fatal. */
export function loadConfigOrThrow(path: string, readFile: ConfigReader = readConfigFileUtf8): LoadedConfig {
  const loaded = loadConfigFile(path, readFile);
  if (!loaded.ok) throw new ConfigError(loaded.errors.map(formatSourceError));
  return loaded.config;
}
