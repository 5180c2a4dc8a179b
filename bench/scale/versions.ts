/**
 * What the config store holds per version after a scale run (Redis: STRLEN of each version key):
 * the registrations' versions against a full copy of the config (the document of the last one, as
 * JSON) and against one larger change, a region replaced with `BULK` more endpoints (the same
 * change twenty times over, in one version), so "grows with the change" is measured, not assumed.
 * @module
 */
import type { ScaleNode } from './harness.js';

export const BULK = 20;

export interface VersionSizes {
  /** Bytes of each registration or deregistration version. */
  perWrite: number[];
  /** Bytes of the document of the newest version as JSON: what a full copy costs. */
  fullCopy: number;
  /** Bytes of the version that added BULK endpoints to one region (NaN if it failed). */
  bulk: number;
  /** Bytes of the whole store's version keys (all versions of the run). */
  total: number;
}

const strlen = async (node: ScaleNode, v: number): Promise<number> => Number(await node.redisCommand(['STRLEN', `{meridian}:config:v:${v}`]));

async function bulkChange(node: ScaleNode, acceptPort: number): Promise<number> {
  const got = await node.api('GET', '/v1/regions/r1');
  if (got.status !== 200) return NaN;
  const { health: _health, ...region } = got.body as { endpoints: unknown[]; health?: unknown };
  const endpoints = [...region.endpoints, ...Array.from({ length: BULK }, (_, i) => ({ id: `bulk-${i}`, address: '127.0.0.1', port: acceptPort }))];
  const put = await node.api('PUT', '/v1/regions/r1', { ...region, endpoints });
  if (put.status !== 200 && put.status !== 201) return NaN;
  return strlen(node, (put.body as { version: number }).version);
}

export async function versionSizes(node: ScaleNode, writes: { version: number }[], acceptPort: number): Promise<VersionSizes> {
  const perWrite = await Promise.all(writes.map((w) => strlen(node, w.version)));
  const head = Number(await node.redisCommand(['GET', '{meridian}:config:head']));
  const record = await node.api('GET', `/v1/versions/${head}`);
  const fullCopy = Buffer.byteLength(JSON.stringify((record.body as { document: unknown }).document));
  const bulk = await bulkChange(node, acceptPort);
  const keys = Array.from({ length: head + 1 }, (_, v) => v).filter((v) => v > 0);
  const total = (await Promise.all(keys.map((v) => strlen(node, v)))).reduce((a, b) => a + b, 0);
  return { perWrite, fullCopy, bulk, total };
}
