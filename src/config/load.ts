/**
 * Loads and validates the YAML config and every zone file it names, returning either a complete
 * configuration or every problem found as `file:line: reason`. Nothing is half-applied: callers
 * swap in the result only when the error list is empty.
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { canonicalOrigin, parseZoneText } from '../zone/parse.js';
import { formatSourceError, type SourceError } from '../zone/types.js';
import { dedupe, validateZone } from '../zone/validate.js';
import { compileZone, type Zone } from '../zone/zone.js';
import { owningOrigin, serviceZoneClashes, zoneSourceFromText, type ConfigDocument, type ZoneSource } from './document.js';
import type { AdminConfig } from '../admin/config.js';
import { retentionProblem } from '../admin/retention.js';

import { compileForward, type ForwardConfig } from '../forward/config.js';
import { formatRedisProblem, redisSectionProblems, type RedisSection } from '../redis/config.js';
import { compileRouting, type CompiledRouting } from './routing.js';
import { ConfigSchema, type ConfigSource, type DnsConfig, type GeoConfig, type HealthConfig } from './schema.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface LoadedConfig {
  file: string;
  dns: DnsConfig;
  listen: ListenAddress[];
  zones: Zone[];
  geo: GeoConfig;
  health: HealthConfig;
  metricsListen: ListenAddress | null;
  routing: CompiledRouting;
  /** The `admin:` section; null = no config store, the YAML is the whole config. */
  admin: AdminConfig | null;
  /** The `redis:` section as written (checked; credentials come from the env, src/redis). */
  redis: RedisSection | null;
  /** Zones, regions and services as a config document: what seeds an empty config store. */
  document: ConfigDocument;
  /** The `forward:` section and every region's `forwarder:` block, compiled (src/forward/config.ts). */
  forward: ForwardConfig;
  /** Accepted but suspect settings, as `file:line` (`meridian check` prints them, `serve` logs them). */
  warnings: SourceError[];
}

export type LoadResult = { ok: true; config: LoadedConfig } | { ok: false; errors: SourceError[] };

/** Parses `host:port`, `[v6]:port`; returns a reason string when invalid. */
export function parseListen(text: string): ListenAddress | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) return `listen address "${text}" must be host:port or [ipv6]:port`;
  const host = m[1]!;
  const port = Number(m[2]);
  if (!isIP(host)) return `listen host "${host}" is not an IP address`;
  if (port < 0 || port > 65535) return `listen port ${port} out of range`;
  return { host, port };
}

/** TypeBox's message, except that a choice of words (`balance: fastest`) names the words it accepts. */
function schemaMessage(e: ValueError): string {
  const choices = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf?.map((s) => s.const);
  if (choices?.length && choices.every((c) => typeof c === 'string')) return `must be one of ${choices.join(', ')}`;
  return e.message;
}

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
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw));
  const errors: SourceError[] = [];
  for (const e of Value.Errors(ConfigSchema, withDefaults)) {
    const path = e.path.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    errors.push({ file, line: lineOf(doc, counter, path), reason: `${e.path || '/'}: ${schemaMessage(e)}` });
  }
  if (errors.length) return { ok: false, errors };
  const source = withDefaults as ConfigSource;

  const listen: ListenAddress[] = [];
  source.dns.listen.forEach((text, i) => {
    const parsed = parseListen(text);
    if (typeof parsed === 'string') errors.push({ file, line: lineOf(doc, counter, ['dns', 'listen', i]), reason: parsed });
    else listen.push(parsed);
  });

  const metricsListen = source.metrics.listen === null ? null : parseListen(source.metrics.listen);
  if (typeof metricsListen === 'string') errors.push({ file, line: lineOf(doc, counter, ['metrics', 'listen']), reason: `metrics: ${metricsListen}` });

  const origins = source.zones.map((z) => canonicalOrigin(z.origin));
  const { routing, problems, warnings } = compileRouting(source.regions, source.services, origins, source.health.probe);
  for (const p of problems) errors.push({ file, line: lineOf(doc, counter, p.path), reason: p.reason });
  const { forward, problems: forwardProblems } = compileForward(source.forward, source.regions, routing, parseListen);
  for (const p of forwardProblems) errors.push({ file, line: lineOf(doc, counter, p.path), reason: p.reason });
  const retention = source.admin ? retentionProblem(source.admin.retention) : null;
  if (retention) errors.push({ file, line: lineOf(doc, counter, ['admin', 'retention', 'cron']), reason: retention });
  for (const p of source.redis ? redisSectionProblems(source.redis, dirname(file), source.health.redisUrl) : []) errors.push({ file, line: lineOf(doc, counter, p.path), reason: formatRedisProblem(p) });

  const zones: Zone[] = [];
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
    const zone = loadZoneText(zoneText, zoneFile, origin, mine.map((s) => s.name));
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
      file,
      dns: source.dns,
      listen,
      zones,
      geo: source.geo,
      health: source.health,
      metricsListen: metricsListen as ListenAddress | null,
      routing,
      admin: source.admin ?? null,
      redis: source.redis ?? null,
      document: { zones: zoneSources, regions: source.regions, services: source.services },
      forward,
      warnings: warnings.map((w) => ({ file, line: lineOf(doc, counter, w.path), reason: w.reason })),
    },
  };
}

/** Parses, validates and compiles one zone file; returns its errors instead when there are any. */
export function loadZoneText(text: string, file: string, origin: string, serviceNames: string[] = []): Zone | SourceError[] {
  const parsed = parseZoneText(text, { file, origin });
  if (parsed.errors.length) return parsed.errors;
  const records = dedupe(parsed.records);
  const problems = validateZone(records, { file, origin });
  if (problems.length) return problems;
  return compileZone(canonicalOrigin(origin), records, serviceNames);
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
