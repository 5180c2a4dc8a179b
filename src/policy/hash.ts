/**
 * Deterministic hashing of a client subnet, so a decision that depends on "which client" depends
 * only on the subnet that the ECS scope announces (anything else would break resolver caching).
 * murmur3's finaliser gives the avalanche that FNV alone lacks on short keys.
 * @module
 */
import type { Client } from './types.js';

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over a string (config identifiers: service and region names), finalised. */
export function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h >>> 0);
}

/**
 * Hash of the client's address masked to `prefix` bits, salted. Bits the client did not send (an
 * ECS source shorter than `prefix`) are zero in `bytes`, so such a client hashes exactly like the
 * addresses of that zero-filled subnet: the answer depends on the first `prefix` bits and nothing
 * else, which is what the announced scope promises.
 */
export function subnetHash(client: Client, prefix: number, salt: number): number {
  let h = 0x811c9dc5 ^ salt;
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) h = Math.imul(h ^ client.bytes[i]!, 0x01000193);
  if (prefix & 7) h = Math.imul(h ^ (client.bytes[full]! & (0xff << (8 - (prefix & 7)))), 0x01000193);
  return fmix32(h >>> 0);
}

/** Maps a 32-bit hash into the open interval (0, 1). */
export function unitInterval(h: number): number {
  return (h + 0.5) / 4294967296;
}
