/**
 * The two inputs of a role's config and the one way they reach it. The YAML file gives the process
 * settings (and, without a config store, zones/regions/services too); the config store's version
 * gives zones/regions/services in cluster and embedded-store mode. A new version and a SIGHUP both
 * compose the latest of each input (compose.ts) and hand the result to the role's `apply`, so
 * neither can undo the other.
 * @module
 */
import type { ErrorCode } from '../admin/errors.js';
import type { LoadedConfig } from '../config/load.js';
import type { Role } from '../lifecycle/role.js';
import type { Logger } from '../obs/log.js';
import type { VersionRecord } from '../store/types.js';
import { formatSourceError } from '../zone/types.js';
import { composeConfig } from './compose.js';
import { loadConfigFile } from './config.js';

export class ConfigSources {
  private record: VersionRecord | null = null;

  constructor(
    private yaml: LoadedConfig,
    private readonly role: Role<LoadedConfig>,
    private readonly log: Logger,
  ) {}

  /** The YAML config in force (settings as last loaded). */
  get settings(): LoadedConfig {
    return this.yaml;
  }

  /** The store version in force, or null (no store, or none applied yet). */
  get version(): VersionRecord | null {
    return this.record;
  }

  /** A config-store version (the follower's apply). Returns the problems that kept it out. */
  applyVersion(record: VersionRecord): string[] {
    return this.swap(this.yaml, record, `config version ${record.version}`);
  }

  /**
   * SIGHUP: re-reads the YAML file and composes it with the store version in force. Version 0 is
   * the YAML's own document (the store was never reached): the new YAML's document replaces it.
   */
  reload(): string[] {
    const next = loadConfigFile(this.yaml.file);
    if (!next.ok) return next.errors.map(formatSourceError);
    return this.swap(next.config, this.record && this.record.version > 0 ? this.record : null, this.yaml.file);
  }

  /** The YAML alone (no store, or before the first version): what a role applies at start. */
  applyYaml(): string[] {
    return this.swap(this.yaml, null, this.yaml.file);
  }

  private swap(yaml: LoadedConfig, record: VersionRecord | null, what: string): string[] {
    const composed = composeConfig(yaml, record?.document ?? null, this.role.config.forward);
    if (!composed.ok) return composed.problems.map((p) => `${what} ${p}`);
    if (composed.warnings.length) this.log.error({ problems: composed.warnings }, `forwarder settings of ${what} do not fit this node; keeping the previous ones`);
    const problems = this.role.apply(composed.config);
    if (problems.length === 0) {
      this.yaml = yaml;
      this.record = record;
    }
    return problems;
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
