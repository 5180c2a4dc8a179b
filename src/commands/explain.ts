/**
 * `meridian explain NAME CLIENT-IP [--ecs PREFIX]`: the decision for one client, step by step.
 *
 * With an admin API in the config it asks the running node (`GET /v1/explain`): that is the live
 * decision, with the node's config version, probe results and geo database. The token comes from
 * MERIDIAN_TOKEN or the bootstrap token file. Without a reachable API it computes the decision here
 * (src/routing/explain.ts) from the config store's head version (or the YAML without a store), the
 * geo database and the current health (Redis in cluster mode; the cold-start view plus overrides in
 * embedded mode, which is why the live node is asked first).
 * @module
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadedConfig } from '../config/load.js';
import { openHealthPlane } from '../health/plane.js';
import { RedisBus } from '../health/redis-bus.js';
import { explain, formatExplanation, type Explanation } from '../routing/explain.js';
import { buildServices, openGeo, zoneSet } from '../node/services.js';
import { readVersionUnlocked } from '../store/file.js';
import { formatSourceError } from '../zone/types.js';
import { adminTarget, callAdmin } from './admin-client.js';
import { compileDocument, loadConfigFile } from '../node/config.js';

type Query = { name: string; ip: string; ecs?: string; qtype?: 'A' | 'AAAA' };

/** The live node's answer, or null when there is no admin API to ask (or it cannot be reached). */
async function askLiveNode(config: LoadedConfig, q: Query): Promise<{ ok: true; explanation: Explanation & { version: number } } | { ok: false; error: string } | null> {
  const target = adminTarget(config);
  if (!target) return null;
  const params = new URLSearchParams({ name: q.name, ip: q.ip, ...(q.ecs !== undefined ? { ecs: q.ecs } : {}), ...(q.qtype ? { type: q.qtype } : {}) });
  try {
    const res = await callAdmin(target, 'GET', `/v1/explain?${params}`, undefined, 3000);
    if (res.kind === 'refused') return null;
    if (res.status === 200) return { ok: true, explanation: res.body };
    if (res.status === 400 || res.status === 404) return { ok: false, error: res.body?.error?.message ?? `HTTP ${res.status}` };
    return null;
  } catch {
    return null;
  }
}

/** The store's head document in embedded mode, read without taking the running node's lock. */
async function headDocumentOf(config: LoadedConfig): Promise<LoadedConfig> {
  if (!config.admin) return config;
  const dataDir = resolvePath(dirname(config.file), config.admin.dataDir);
  const dir = join(dataDir, 'versions');
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => /^\d+\.json$/.test(n))
      .sort();
  } catch {
    return config;
  }
  const last = names.at(-1);
  if (!last) return config;
  const record = await readVersionUnlocked(dataDir, Number(last.slice(0, -'.json'.length)));
  if (!record) return config;
  const compiled = compileDocument(record.document, config.health.probe);
  return compiled.ok ? { ...config, ...compiled.compiled } : config;
}

export async function explainCommand(args: string[], defaultConfig: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, ecs: { type: 'string' }, type: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [name, ip] = positionals;
  if (!name || !ip || positionals.length > 2 || (values.type && values.type !== 'A' && values.type !== 'AAAA')) {
    process.stderr.write('usage: meridian explain NAME CLIENT-IP [--ecs PREFIX] [--type A|AAAA] [--json] [--config FILE]\n');
    return 2;
  }
  const loaded = loadConfigFile(values.config ?? defaultConfig);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(formatSourceError(e) + '\n');
    return 1;
  }
  const q: Query = { name, ip, ...(values.ecs !== undefined ? { ecs: values.ecs } : {}), ...(values.type ? { qtype: values.type as 'A' | 'AAAA' } : {}) };
  const live = await askLiveNode(loaded.config, q);
  if (live) {
    if (!live.ok) {
      process.stderr.write(live.error + '\n');
      return 1;
    }
    const { version, ...explanation } = live.explanation;
    process.stdout.write((values.json ? JSON.stringify(live.explanation, null, 2) : `${formatExplanation(explanation)}\n(live node, config version ${version})`) + '\n');
    return 0;
  }
  const config = await headDocumentOf(loaded.config);
  const geo = openGeo(config, null);
  const plane = openHealthPlane(config, { probes: false });
  try {
    if (plane.bus instanceof RedisBus) await plane.bus.whenConnected(5_000).catch(() => process.stderr.write('explain: Redis unreachable; health shown as cold start\n'));
    await plane.source.refresh();
    const services = buildServices(config, { geo: () => geo?.current ?? null, health: () => plane.source.current });
    const result = explain(services, q.name, q.ip, { zones: zoneSet(config, services).byKey, ...(q.ecs !== undefined ? { ecs: q.ecs } : {}), ...(q.qtype ? { qtype: q.qtype } : {}) });
    if (!result.ok) {
      process.stderr.write(result.error + '\n');
      return 1;
    }
    process.stdout.write((values.json ? JSON.stringify(result.explanation, null, 2) : formatExplanation(result.explanation)) + '\n');
    return 0;
  } finally {
    geo?.stop();
    await plane.close();
  }
}
