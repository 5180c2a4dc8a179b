/**
 * The dry-run worker thread (started by dryrun-pool.ts): it receives a job as plain data, compiles
 * its documents with the node's compiler, builds their services with the node's code
 * (buildServices, the same Service and policy chain the DNS answers run) on the job's health views
 * and the node's geo database, and compares them (src/admin/dryrun-compare.ts). Nothing here runs
 * on the DNS node's event loop, and the thread runs at the lowest CPU priority. The geo database is opened once and reopened only when the node's
 * has changed (a new path or a reload: its version).
 * @module
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { LoadedConfig } from '../config/load.js';
import { compareSides, type ComparedSide, type DryRunSide } from '../admin/dryrun-compare.js';

import { ViewHealth } from '../admin/health-view.js';
import { GeoSource } from '../geo/source.js';
import type { ServiceSource } from '../config/schema.js';
import { canonicalOrigin } from '../zone/parse.js';
import { compileDocument } from './config.js';
import { buildServices } from './services.js';
import type { WorkerJob, WorkerReply } from './dryrun-pool.js';

/**
 * Nice 19 for this thread only (on Linux a thread's nice value is its own): when the cores are
 * busy, the DNS event loop gets the CPU and the dry run waits, which is the order that matters.
 */
function yieldToDns(): void {
  try {
    setPriority(19);
  } catch {
    // Not permitted here: the worker runs at the node's priority.
  }
}
if (parentPort) yieldToDns();

let geo: { key: string; source: GeoSource } | null = null;

/** The node's geo database, opened again only when the node's path or version moved. */
function geoFor(job: WorkerJob): GeoSource | null {
  if (!job.geo) return null;
  const key = `${job.geo.version}|${job.geo.path}`;
  if (geo?.key !== key) geo = { key, source: new GeoSource({ path: job.geo.path }) };
  return geo.source;
}

function side(s: DryRunSide, job: WorkerJob, db: GeoSource | null): ComparedSide {
  const health = new ViewHealth(s.health);
  const compiled = s.document ? compileDocument(s.document, job.probeDefaults) : null;
  if (!compiled?.ok) return { services: new Map(), health, source: () => null };
  const sources = new Map<string, ServiceSource>(compiled.document.services.map((x) => [canonicalOrigin(x.name), x]));
  // buildServices reads only the routing of a config.
  const config = { routing: compiled.compiled.routing } as LoadedConfig;
  const services = buildServices(config, { geo: () => db?.current ?? null, health: () => health });
  return { services, health, source: (name) => sources.get(name) ?? null };
}

function handle(job: WorkerJob): WorkerReply {
  try {
    const db = geoFor(job);
    const result = compareSides(side(job.before, job, db), side(job.after, job, db), job.clients, job.maxLookups);
    return { id: job.id, ok: true, result };
  } catch (err) {
    return { id: job.id, ok: false, error: (err as Error).stack ?? String(err) };
  }
}

parentPort?.on('message', (job: WorkerJob) => parentPort!.postMessage(handle(job)));
