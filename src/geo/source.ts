/**
 * The geo database in force, and its replacement: on a schedule (node-cron) and on demand (SIGHUP).
 *
 * A reload reads the whole file, builds and validates a new GeoDatabase (reader.ts), and only then
 * swaps it in with one assignment, so a lookup sees either the old database or the new one, never a
 * mix. A file that is missing, half-written or corrupt is rejected and the old database keeps
 * answering (static stability). maxmind's own `watchForUpdates` is not used: it reloads on any file
 * change without validating, so a half-copied file would go live.
 *
 * A file whose bytes equal the running database's is not swapped: swapping drops the DNS layer's
 * decision cache for nothing.
 * @module
 */
import { createRequire } from 'node:module';
import { schedule, validate, type ScheduledTask } from 'node-cron';
import type { Logger } from '../obs/log.js';
import { GeoDatabase } from './reader.js';

/** The npm package file used when `geo.database` is `embedded`: country-level, IPv4 and IPv6. */
export const EMBEDDED_DATABASE = '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb';

/** `embedded` -> the installed package's file; anything else is a path, returned as given. */
export function resolveDatabasePath(path: string): string {
  return path === 'embedded' ? createRequire(import.meta.url).resolve(EMBEDDED_DATABASE) : path;
}

export type ReloadResult = { ok: true; swapped: boolean } | { ok: false; error: string };

export interface GeoSourceOptions {
  /** A .mmdb path, or `embedded`. */
  path: string;
  log?: Logger;
}

export type SwapListener = (db: GeoDatabase, version: number) => void;

export class GeoSource {
  /** The resolved file path. */
  readonly path: string;
  private db: GeoDatabase;
  private ver = 1;
  private succeeded = 0;
  private failed = 0;
  private readonly listeners = new Set<SwapListener>();
  private task: ScheduledTask | undefined;
  private readonly log: Logger | undefined;

  /** Opens the database now; throws if it cannot be used (a node must not start without one). */
  constructor(opts: GeoSourceOptions) {
    this.path = resolveDatabasePath(opts.path);
    this.log = opts.log;
    this.db = GeoDatabase.open(this.path);
  }

  /** The database in force. Read it once per query: a swap may happen between two reads. */
  get current(): GeoDatabase {
    return this.db;
  }

  /** 1 for the database opened at start, plus one for each swap. Part of the decision-cache key. */
  get version(): number {
    return this.ver;
  }

  /**
   * For the metrics registry: reload outcomes since start (`meridian_geo_reloads_total{result}`)
   * and the running database's build time (`meridian_geo_database_build_epoch_seconds`).
   */
  get metrics(): { reloadsOk: number; reloadsFailed: number; buildEpoch: number } {
    return { reloadsOk: this.succeeded, reloadsFailed: this.failed, buildEpoch: this.db.description.buildEpoch };
  }

  /** Calls `listener` after each swap; returns a function that removes it. */
  onSwap(listener: SwapListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the file; on any problem the running database stays. Never throws. */
  reload(): ReloadResult {
    let next: GeoDatabase;
    try {
      next = GeoDatabase.open(this.path);
    } catch (err) {
      this.failed++;
      const error = (err as Error).message;
      this.log?.error({ error, version: this.ver }, 'geo database reload rejected; the running database keeps answering');
      return { ok: false, error };
    }
    this.succeeded++;
    if (next.sameBytes(this.db)) {
      this.log?.info({ version: this.ver }, 'geo database unchanged');
      return { ok: true, swapped: false };
    }
    this.db = next;
    this.ver++;
    this.log?.info({ version: this.ver, database: next.description }, 'geo database swapped');
    for (const l of this.listeners) {
      try {
        l(next, this.ver);
      } catch (err) {
        // A failing listener must not undo the swap nor starve the others.
        this.log?.error({ err }, 'geo swap listener failed');
      }
    }
    return { ok: true, swapped: true };
  }

  /** Reloads on a cron schedule (5 or 6 fields; see README for the default). Replaces any earlier one. */
  startSchedule(cronExpr: string): void {
    if (!validate(cronExpr)) throw new Error(`geo.reloadCron: not a cron expression: ${JSON.stringify(cronExpr)}`);
    this.stop();
    // unref: the schedule alone must not keep a process (a test, `meridian check`) alive.
    this.task = schedule(cronExpr, () => void this.reload(), { name: 'geo-reload', noOverlap: true, unref: true });
  }

  /** Stops the schedule (reload() still works). */
  stop(): void {
    const t = this.task;
    this.task = undefined;
    if (t) void t.destroy();
  }
}
