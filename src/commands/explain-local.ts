/**
 * `meridian explain` computed in this process (no node asked): the config store's head version in
 * embedded mode (read without taking the running node's lock), else the YAML; the geo database; and
 * the health the health plane gives a process that runs no probes (Redis in cluster mode; the
 * cold-start view plus overrides in embedded mode, which is why the live node is asked first).
 * Loaded only when needed: it brings the whole decision path.
 * @module
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { openHealthPlane } from '../health/plane.js';
import { RedisBus } from '../health/redis-bus.js';
import { compileDocument } from '../node/config.js';
import { buildServices, openGeo, zoneSet } from '../node/services.js';
import { explain, type ExplainResult } from '../routing/explain.js';
import { readVersionUnlocked } from '../store/file.js';

export interface ExplainQuery {
  name: string;
  ip: string;
  ecs?: string;
  qtype?: 'A' | 'AAAA';
}

/** The decision, the config version it was made on (null: the YAML, no store) and where health came from. */
export interface LocalExplanation {
  result: ExplainResult;
  version: number | null;
  health: 'redis' | 'cold start and overrides';
}

/** The store's head document in embedded mode, with its version; the YAML (version null) without a store. */
async function headDocumentOf(config: LoadedConfig): Promise<{ config: LoadedConfig; version: number | null }> {
  if (!config.admin) return { config, version: null };
  const dataDir = resolvePath(dirname(config.file), config.admin.dataDir);
  let names: string[];
  try {
    names = readdirSync(join(dataDir, 'versions'))
      .filter((n) => /^\d+\.json$/.test(n))
      .sort((a, b) => parseInt(a) - parseInt(b));
  } catch {
    return { config, version: null };
  }
  const last = names.at(-1);
  if (!last) return { config, version: null };
  const version = Number(last.slice(0, -'.json'.length));
  const record = await readVersionUnlocked(dataDir, version);
  if (!record) return { config, version: null };
  const compiled = compileDocument(record.document, config.health.probe);
  return compiled.ok ? { config: { ...config, ...compiled.compiled }, version } : { config, version: null };
}

export async function explainLocally(loaded: LoadedConfig, q: ExplainQuery): Promise<LocalExplanation> {
  const { config, version } = await headDocumentOf(loaded);
  const geo = openGeo(config, null);
  const plane = openHealthPlane(config, { probes: false });
  try {
    if (plane.bus instanceof RedisBus) await plane.bus.whenConnected(5_000).catch(() => process.stderr.write('explain: Redis unreachable; health shown as cold start\n'));
    await plane.source.refresh();
    const services = buildServices(config, { geo: () => geo?.current ?? null, health: () => plane.source.current });
    const result = explain(services, q.name, q.ip, { zones: zoneSet(config, services).byKey, ...(q.ecs !== undefined ? { ecs: q.ecs } : {}), ...(q.qtype ? { qtype: q.qtype } : {}) });
    return { result, version, health: plane.bus instanceof RedisBus ? 'redis' : 'cold start and overrides' };
  } finally {
    geo?.stop();
    await plane.close();
  }
}
