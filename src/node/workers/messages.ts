/**
 * What the primary of `meridian serve --workers N` and its DNS workers say to each other over the
 * cluster IPC channel (structured as plain JSON: it is serialised per message). See README.md.
 * @module
 */
import type { ListenAddress } from '../../config/load.js';
import type { PortSharing } from '../../dns/udp.js';
import type { AnswerUpdate } from '../../health/mirror.js';
import type { Registry } from 'prom-client';
import type { VersionRecord } from '../../store/types.js';

/** The files a config load read (YAML, zone files) by absolute path: a worker loads these, never the disk. */
export type ConfigFiles = Record<string, string>;

/** The config in force in the primary: its YAML (as the bytes it judged) and the store version, if any. */
export interface ConfigInputs {
  file: string;
  files: ConfigFiles;
  record: VersionRecord | null;
}

export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export interface WorkerInit {
  /** 1..N, stable across restarts of the worker in that place (metrics label `worker`). */
  slot: number;
  workers: number;
  sharing: PortSharing;
  /** The DNS listen addresses with their ports resolved by the primary (no port 0). */
  listen: ListenAddress[];
  config: ConfigInputs;
  health: AnswerUpdate;
}

/** Primary → worker. */
export type ToWorker =
  | { t: 'init'; init: WorkerInit }
  /** A new config in force: `files` after a reload (with the geo database reread), `record` for a new version; only what changed is sent. */
  | { t: 'config'; files?: ConfigFiles; record?: VersionRecord | null; reloadGeo: boolean }
  | { t: 'health'; update: AnswerUpdate }
  | { t: 'metrics'; id: number }
  /** Stop answering, close, exit 0. */
  | { t: 'stop' };

/** Worker → primary. */
export type FromWorker =
  /** The worker listens for messages: the primary may send `init`. */
  | { t: 'hello' }
  | { t: 'ready' }
  /** The start failed (the worker exits 1 after this). */
  | { t: 'failed'; problems: string[] }
  | { t: 'metrics'; id: number; metrics: MetricsJson }
  /** The worker's recent service clients (admin.sampleSize), newest first, when they changed. */
  | { t: 'clients'; recent: string[] };

export const isFromWorker = (m: unknown): m is FromWorker => typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';

export const isToWorker = (m: unknown): m is ToWorker => typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
