/**
 * What the admin API needs from the node it runs in. serve.ts builds it; tests build it around a
 * real store and a real compiled config, so no route ever reaches for a global.
 * @module
 */
import type { CompileResult, ConfigDocument } from '../config/document.js';
import type { HealthSnapshot, RegionState } from '../health/snapshot.js';
import type { HealthBus, Override } from '../health/types.js';
import type { Logger } from '../obs/log.js';
import type { Service } from '../routing/service.js';
import type { ConfigStore, TokenRecord, VersionRecord } from '../store/types.js';
import type { Zone } from '../zone/zone.js';
import type { AdminConfig, StaticToken } from './config.js';
import type { DryRunner } from './dryrun-compare.js';
import type { HealthReport } from './health-report.js';

/** What `GET /v1/regions` shows beside a region's configured `state`: what the answers act on. */
export interface RegionHealthView {
  state: RegionState;
  /** What decided it: `probes`, an `override`, the configured `state` (`config`), or no endpoints (`empty`). */
  source: 'probes' | 'override' | 'config' | 'empty';
  endpointsUp: number;
  /** Endpoints that count (drained ones do not). */
  endpointsCounted: number;
}

export interface AdminDeps {
  /**
   * The config store. In a node it is the follower's gate: while the store cannot be reached every
   * call rejects at once with StoreUnavailableError, and `connected` is false.
   */
  store: ConfigStore;
  /**
   * The version this node answers from, for reads while the store cannot be reached (static
   * stability: the API still shows what the node serves); absent or null = no fallback.
   */
  current?(): VersionRecord | null;
  /** The tokens in this node's local copy, to authenticate while the store has never been reached. */
  localTokens?(): TokenRecord[];
  /**
   * A region's effective health in this node's snapshot (probes, overrides and the configured state
   * combined, as the answers use it); null for a region the node does not serve yet.
   */
  regionHealth?(id: string): RegionHealthView | null;
  /** Every region's and endpoint's health in this node's snapshot, with the live vantages' votes (GET /v1/health). */
  healthReport?(): HealthReport;
  /** The overrides in this node's health snapshot, for reads while the bus cannot be reached. */
  overridesInForce?(): Override[];
  /**
   * Validates and compiles a document with this node's process settings (probe defaults). `base`:
   * the version a change is made on; rules that judge a block on its own (forwarder blocks) then
   * refuse only the problems the change brings, not ones the stored version already had.
   */
  compile(document: unknown, base?: ConfigDocument): CompileResult;
  /**
   * The version this node answers from, its services and its zones by apex wire key (explain reads
   * the live decision and follows CNAMEs as the node's answers do; without zones, names must be services).
   */
  live(): { version: number; services: Map<string, Service>; zones?: ReadonlyMap<string, Zone> };
  /** This node's health snapshot, as the answers use it (dry runs read it through the interface). */
  health(): HealthSnapshot;
  /** This node's health recomputed under `overrides` instead of the ones in force (override dry runs); nothing is swapped. */
  healthUnder(overrides: Override[]): HealthSnapshot;
  /** Compares a dry run's answers off the DNS event loop (a worker thread in a node). */
  dryRuns: DryRunner;
  /** Resolves once this node answers from `version` (read-your-writes for the API's caller). */
  applied?(version: number): Promise<void>;
  /** Overrides live on the health bus (Redis or the embedded file), not in config versions. */
  bus: HealthBus;
  /** Called after an override changed, so this node's health snapshot follows at once. */
  onOverridesChanged?(): void;
  /** Recent client addresses seen by this node's DNS listeners (dry-run samples). */
  recentClients(): string[];
  /** Connections still open through a region's forwarders (from their load reports), or null. */
  forwarderConnections?(region: string): Promise<number | null>;
  settings: AdminConfig;
  staticTokens: StaticToken[];
  log: Logger;
  now?(): number;
}
