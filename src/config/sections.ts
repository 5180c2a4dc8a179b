/**
 * The registry of config sections that belong to components (`forward:`, `admin:`, `redis:` …).
 * The loaders (load.ts here, src/node/load.ts and src/node/document.ts) know only this file: each
 * component declares its section (schema with defaults, cross-checks, compiled value) in its own
 * folder, and src/node/config.ts registers them all, in one place, as grpc-js registers its load
 * balancers (`registerLoadBalancerType`). So `src/config/` imports no component.
 *
 * A section's compiled value reaches `LoadedConfig` by declaration merging: the component adds its
 * key to `Sections` (`declare module '../config/sections.js' { interface Sections { forward:
 * ForwardConfig } }`), and a region block's type to `RegionBlocks` in schema.ts.
 * @module
 */
import type { TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import type { HealthConfig, RegionBlocks, RegionSource } from './schema.js';
import type { TakenAddress } from './listen.js';

/** The compiled value of every registered section, by key; components add theirs. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface Sections {}

/** A problem at a path from the YAML root (`['forward', 'listeners', 0, 'name']`). */
export interface SectionProblem {
  path: (string | number)[];
  reason: string;
}

/** What a section's compile step sees besides its own block. */
export interface SectionContext {
  /** The config file (relative paths in a section are relative to its directory). */
  file: string;
  /** Regions as written, with every registered region block checked and defaulted. */
  regions: RegionSource[];
  health: HealthConfig;
  /** The sockets the node binds itself (DNS, admin API, metrics), by what binds them: the forwarder blocks' clash rules. */
  sockets: TakenAddress[];
  // `routing` (the compiled regions, services and endpoints) is added by src/routing/compile.ts.
}

export interface ConfigSection<K extends keyof Sections = keyof Sections> {
  key: K;
  /** The block's schema, with defaults; TypeBox reports its errors with their YAML lines. */
  schema: TSchema;
  /** Absent block: `null` is the compiled value and `compile` does not run; otherwise it gets the schema's defaults. */
  optional?: boolean;
  /** Cross-checks the schema cannot express, and the compiled value `LoadedConfig[key]` holds. */
  compile(block: unknown, ctx: SectionContext): { value: Sections[K]; problems: SectionProblem[] };
  /** A block this component adds to every region (`regions[].<key>`), checked with its schema in the YAML and in config documents alike. */
  region?: { key: keyof RegionBlocks & string; schema: TSchema };
}

const registry = new Map<string, ConfigSection>();

/** Registers a component's section; src/node/config.ts does it for every section, in one place. */
export function registerConfigSection<K extends keyof Sections>(section: ConfigSection<K>): void {
  if (registry.has(section.key)) throw new Error(`config section ${section.key} is registered twice`);
  registry.set(section.key, section as unknown as ConfigSection);
}

/** The registered sections, in registration order; throws when none are (a caller that bypassed src/node/config.ts). */
export function configSections(): ConfigSection[] {
  if (registry.size === 0) throw new Error('no config sections are registered: load configs through src/node/config.ts');
  return [...registry.values()];
}

/** A schema error inside a region block, at a path from the regions' parent (`['regions', i, key, ...]`). */
export interface RegionBlockError {
  path: (string | number)[];
  /** The same place as an RFC 6901 pointer (`/regions/0/forwarder/capacity`). */
  pointer: string;
  error: ValueError;
}

/**
 * Checks every registered region block of `regions` against its schema and fills its defaults in
 * place, so a stored document holds them as it holds the rest of the region. Runs beside the core
 * schema's check (anything that is not a region object is left to that), and the YAML loader and
 * the document compiler each report the errors in their own form.
 */
export function checkRegionBlocks(regions: unknown): RegionBlockError[] {
  const errors: RegionBlockError[] = [];
  if (!Array.isArray(regions)) return errors;
  for (const { region } of configSections()) {
    if (!region) continue;
    (regions as unknown[]).forEach((r, i) => {
      if (r === null || typeof r !== 'object' || (r as Record<string, unknown>)[region.key] === undefined) return;
      const blocks = r as Record<string, unknown>;
      blocks[region.key] = Value.Default(region.schema, blocks[region.key]);
      for (const error of Value.Errors(region.schema, blocks[region.key])) {
        errors.push({ path: ['regions', i, region.key, ...pathOf(error.path)], pointer: `/regions/${i}/${region.key}${error.path}`, error });
      }
    });
  }
  return errors;
}

/** A TypeBox error path (`/a/0/b~1c`) as keys and indices. */
export function pathOf(pointer: string): (string | number)[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}
