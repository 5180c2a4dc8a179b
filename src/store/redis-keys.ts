/**
 * The Redis store's key names under one prefix (redis.ts lists what each holds). The prefix must
 * carry a `{hash tag}`, so every key is in one slot and the commit script runs on Redis Cluster.
 * @module
 */

export interface StoreKeys {
  head: string;
  version(n: number): string;
  meta: string;
  audit: string;
  auditSeq: string;
  tokens: string;
  channel: string;
  changed: string;
}

export function storeKeys(prefix: string): StoreKeys {
  if (!/\{[^{}]+\}/.test(prefix)) throw new Error(`config store: prefix '${prefix}' needs a {hash tag} for Redis Cluster`);
  return {
    head: `${prefix}:config:head`,
    version: (n: number) => `${prefix}:config:v:${n}`,
    meta: `${prefix}:config:meta`,
    audit: `${prefix}:audit`,
    auditSeq: `${prefix}:audit:seq`,
    tokens: `${prefix}:tokens`,
    channel: `${prefix}:config`,
    changed: `${prefix}:changed`,
  };
}

/** Entries read per XRANGE/XREVRANGE page; keys per MGET or DEL. */
export const PAGE = 500;
