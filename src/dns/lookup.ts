/**
 * Which zone answers a name, and the authoritative lookup in it: the one path from a QNAME to a
 * Resolution, used by the responder (src/dns/respond.ts) and by `meridian explain`
 * (src/routing/explain.ts), so that explain follows CNAME chains exactly as the answers do.
 * @module
 */
import { resolve, type Resolution } from '../zone/resolve.js';
import type { Zone } from '../zone/zone.js';
import type { Service } from '../routing/service.js';

/** Immutable zone data the responder reads; swapped whole on reload. */
export interface ZoneSet {
  /** Zone apex wire key (see nameKey) -> zone. */
  byKey: ReadonlyMap<string, Zone>;
  /** Service name (absolute, lower case) -> service, whose A/AAAA answers are per client. */
  services: ReadonlyMap<string, Service>;
}

export interface Lookup {
  zone: Zone;
  /** The QNAME in presentation form (see keyToName). */
  qname: string;
  res: Resolution;
}

/** Presentation form of a wire key; dots, backslashes and non-printables escaped (RFC 4343 §2.1). */
export function keyToName(key: string): string {
  if (key === '') return '.';
  let out = '';
  for (let i = 0; i < key.length;) {
    const len = key.charCodeAt(i);
    for (let j = i + 1; j <= i + len; j++) {
      const c = key.charCodeAt(j);
      if (c === 0x2e || c === 0x5c) out += '\\' + key[j];
      else if (c <= 0x20 || c >= 0x7f) out += '\\' + String(c).padStart(3, '0');
      else out += key[j];
    }
    out += '.';
    i += len + 1;
  }
  return out;
}

/** The closest enclosing zone of a lower-cased wire key: one Map read per label. */
export function findZone(byKey: ReadonlyMap<string, Zone>, key: string): Zone | undefined {
  for (let off = 0; ; off += key.charCodeAt(off) + 1) {
    const z = byKey.get(off === 0 ? key : key.substring(off));
    if (z || off >= key.length) return z;
  }
}

/** Resolves (key, qtype) in its zone, following in-zone CNAMEs into services; null outside every zone. */
export function lookup(zones: ZoneSet, key: string, qtype: number): Lookup | null {
  const zone = findZone(zones.byKey, key);
  if (!zone) return null;
  const qname = keyToName(key);
  return { zone, qname, res: resolve(zone, qname, qtype, zones.services) };
}
