/**
 * The two inputs of a role's config and the one way they reach it. The YAML file gives the process
 * settings (and, without a config store, zones/regions/services too); the config store's version
 * gives zones/regions/services in cluster and embedded-store mode. A new version and a SIGHUP both
 * compose the latest of each input (compose.ts) and hand the result to the role's `apply`, so
 * neither can undo the other.
 * @module
 */
import type { ErrorCode } from '../admin/errors.js';
import type { LoadedConfig, LoadResult } from '../config/load.js';
import type { Role } from '../lifecycle/role.js';
import type { Logger } from '../obs/log.js';
import type { ConfigStatus } from '../obs/metrics.js';
import { diffDocuments } from '../store/diff.js';
import type { VersionRecord } from '../store/types.js';
import { formatSourceError } from '../zone/types.js';
import { INVALID_FORWARDER } from '../forward/config.js';
import { compileWork } from './compile-shared.js';
import { itemWork } from './document-items.js';
import { regionWork } from '../routing/compile-region.js';
import { composeConfig, type RejectedBlock } from './compose.js';
import { loadConfigFile } from './config.js';

/** One more refused `forwarder:` block of `region` (`meridian_config_forwarder_rejected_total`). */
export const countRejected = (counts: Map<string, number>, region: string): void => void counts.set(region, (counts.get(region) ?? 0) + 1);

export class ConfigSources implements ConfigStatus {
  private record: VersionRecord | null = null;
  /** Refused reloads and versions since start (`meridian_config_reload_failures_total`). */
  readonly refused = { sighup: 0, version: 0 };
  /** Per region, the refused `forwarder:` block last reported: each bad block is logged once. */
  private readonly reported = new Map<string, string>();
  /** The YAML document a reload last compared with the store (noteSeedOnly): each content is reported once. */
  private seedNoted: string | null = null;
  constructor(
    private yaml: LoadedConfig,
    private readonly role: Role<LoadedConfig>,
    private readonly log: Logger,
    /** Refused `forwarder:` blocks per region since start (`meridian_config_forwarder_rejected_total`), shared with the forwarders (unbindable sockets). */
    readonly rejectedBlocks = new Map<string, number>(),
    /** How a reload reads the YAML: from disk, or (a DNS worker) the bytes its primary read (src/node/workers/). */
    private readonly load: (file: string) => LoadResult = (file) => loadConfigFile(file),
  ) {}

  /** The YAML config in force (settings as last loaded). */
  get settings(): LoadedConfig {
    return this.yaml;
  }

  /** The store version in force, or null (no store, or none applied yet). */
  get version(): VersionRecord | null {
    return this.record;
  }

  /** `meridian_config_compiles_total`: the process's document compiles (compile-shared.ts). */
  get compiles(): Readonly<{ compiled: number; reused: number }> {
    return compileWork;
  }

  /** `meridian_config_items_checked_total`: zones, regions and services checked or reused (document-items.ts). */
  get items(): typeof itemWork {
    return itemWork;
  }

  /** `meridian_config_regions_compiled_total`: regions compiled or reused by the routing compiler (src/routing/compile-region.ts). */
  get regionCompiles(): Readonly<{ compiled: number; reused: number }> {
    return regionWork;
  }

  /** `meridian_config_version`: the store version in force, 0 without one. */
  get appliedVersion(): number {
    return this.record?.version ?? 0;
  }

  /** A config-store version (the follower's apply). Returns the problems that kept it out. */
  applyVersion(record: VersionRecord): string[] {
    return this.counted('version', this.swap(this.yaml, record, `config version ${record.version}`));
  }

  /**
   * SIGHUP: re-reads the YAML file and composes it with the store version in force. Version 0 is
   * the YAML's own document (the store was never reached): the new YAML's document replaces it.
   */
  reload(): string[] {
    const next = this.load(this.yaml.file);
    if (!next.ok) return this.counted('sighup', next.errors.map(formatSourceError));
    const record = this.record && this.record.version > 0 ? this.record : null;
    const problems = this.counted('sighup', this.swap(next.config, record, this.yaml.file));
    if (!problems.length && record) this.noteSeedOnly(next.config, record);
    return problems;
  }

  /**
   * With a store, the YAML's zones, regions and services only seeded it, so a reload leaves them
   * aside. When they differ from the version in force, say so (once per distinct content of the
   * file's sections) and how to apply them, rather than let the "reloaded" line suggest they were.
   */
  private noteSeedOnly(yaml: LoadedConfig, record: VersionRecord): void {
    const text = JSON.stringify(yaml.document);
    if (text === this.seedNoted) return;
    this.seedNoted = text;
    // A drain in progress is the node's state, not something a YAML says.
    const served = { ...record.document, regions: record.document.regions.map(({ drain: _drain, ...r }) => r) };
    const diff = diffDocuments(served, yaml.document);
    if (!diff.length) return;
    this.log.warn(
      { file: yaml.file, configVersion: record.version, differences: diff.length, first: diff.slice(0, 5).map((d) => d.path) },
      `the zones, regions and services of ${yaml.file} differ from config version ${record.version}, which this node serves: with an admin: section they only seed an empty config store, so this reload did not apply them. Apply them as a new version with \`meridian apply ${yaml.file} --reason TEXT\` (--dry-run first shows the diff), or change them through the admin API`,
    );
  }

  private counted(trigger: keyof ConfigSources['refused'], problems: string[]): string[] {
    if (problems.length) this.refused[trigger]++;
    return problems;
  }

  /** The YAML alone (no store, or before the first version): what a role applies at start. */
  applyYaml(): string[] {
    return this.swap(this.yaml, null, this.yaml.file);
  }

  private swap(yaml: LoadedConfig, record: VersionRecord | null, what: string): string[] {
    const composed = composeConfig(yaml, record?.document ?? null, this.role.config.forward);
    if (!composed.ok) return composed.problems.map((p) => `${what} ${p}`);
    const problems = this.role.apply(composed.config);
    if (problems.length === 0) {
      this.yaml = yaml;
      this.record = record;
      this.report(composed.rejected, what);
    }
    return problems;
  }

  /** Logs (once per bad block, with its code) and counts the `forwarder:` blocks this node refused. */
  private report(rejected: RejectedBlock[], what: string): void {
    const now = new Set(rejected.map((r) => r.region));
    for (const region of this.reported.keys()) if (!now.has(region)) this.reported.delete(region);
    for (const r of rejected) {
      if (this.reported.get(r.region) === r.block) continue;
      this.reported.set(r.region, r.block);
      countRejected(this.rejectedBlocks, r.region);
      this.log.error(
        { code: INVALID_FORWARDER, region: r.region, problems: r.problems },
        `the forwarder block of region ${r.region} in ${what} breaks the forwarder's rules: that region keeps its last good block, the rest of the version applies`,
      );
    }
  }
}

/** Logged with every rejected reload, as the admin API answers a change that would make the config invalid. */
const RELOAD_REJECTED: ErrorCode = 'MERIDIAN_ERR_INVALID_CONFIG';

/**
 * A sidecar role's SIGHUP (probe, forward): reload through `sources`; a rejection is logged once at
 * error level with its code and problems and changes nothing, success runs `onApplied` and logs it.
 */
export function reloadRole(sources: ConfigSources, log: Logger, onApplied?: () => void): string[] {
  const problems = sources.reload();
  if (problems.length) log.error({ code: RELOAD_REJECTED, problems }, 'reload rejected; the running config stays');
  else {
    onApplied?.();
    log.info({ configVersion: sources.version?.version ?? null }, 'reloaded');
  }
  return problems;
}
