/**
 * Zone-level (semantic) checks on parsed records: things no single line can reveal.
 *
 * Each error points at the record that makes the zone inconsistent (for pairs, the later one),
 * so `file:line: reason` leads the operator to the line to edit.
 * @module
 */
import { canonicalOrigin } from './parse.js';
import { RRType, type ParsedRecord, type RData, type SourceError } from './types.js';

const DS = 43;
// RFC 4035 §2.5 / RFC 2181 §10.1: DNSSEC records may sit beside a CNAME and at a zone cut.
const RRSIG = 46;
const NSEC = 47;
const ADDRESS = new Set<number>([RRType.A, RRType.AAAA]);

const isAtOrBelow = (name: string, origin: string): boolean => origin === '.' || name === origin || name.endsWith('.' + origin);

const parentName = (name: string): string => {
  const dot = name.indexOf('.');
  return dot === name.length - 1 ? '.' : name.slice(dot + 1);
};

const typeName = (code: number): string => Object.entries(RRType).find(([, v]) => v === code)?.[0] ?? `TYPE${code}`;

function rdataKey(r: RData): string {
  // Different text forms of one IPv6 address are the same record on the wire.
  if (r.type === 28) {
    try {
      return `28 ${new URL(`http://[${r.address}]/`).hostname}`;
    } catch {
      return `28 ${r.address}`;
    }
  }
  return JSON.stringify(r, (_k, v: unknown) => (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v));
}

const recordKey = (r: ParsedRecord): string => `${r.name} ${r.type} ${r.ttl} ${rdataKey(r.rdata)}`;

/**
 * Drops exact duplicates (same name, type, TTL and rdata), keeping the first occurrence.
 * Duplicates are legal in master files (BIND ignores them) but an RRset is a set on the wire.
 * Records with equal rdata but different TTLs are kept so that validateZone reports the TTL.
 */
export function dedupe(records: ParsedRecord[]): ParsedRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const k = recordKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function validateZone(records: ParsedRecord[], opts: { file: string; origin: string }): SourceError[] {
  const origin = canonicalOrigin(opts.origin);
  const errors: SourceError[] = [];
  const err = (line: number, reason: string): void => {
    errors.push({ file: opts.file, line, reason });
  };

  const all = [...dedupe(records)].sort((a, b) => a.line - b.line);
  const inZone: ParsedRecord[] = [];
  for (const r of all) {
    if (isAtOrBelow(r.name, origin)) inZone.push(r);
    else err(r.line, `owner ${r.name} is out of zone ${origin}`);
  }

  const byName = new Map<string, ParsedRecord[]>();
  for (const r of inZone) {
    const list = byName.get(r.name);
    if (list) list.push(r);
    else byName.set(r.name, [r]);
  }
  const apex = byName.get(origin) ?? [];

  // SOA: exactly one, at the apex.
  const soas = inZone.filter((r) => r.type === RRType.SOA);
  for (const r of soas) if (r.name !== origin) err(r.line, `SOA must be at the zone apex ${origin}`);
  const apexSoas = apex.filter((r) => r.type === RRType.SOA);
  for (const r of apexSoas.slice(1)) err(r.line, `more than one SOA (first at line ${apexSoas[0]!.line})`);
  const topLine = apexSoas[0]?.line ?? 1;
  if (soas.length === 0) err(1, `no SOA record at zone apex ${origin}`);
  if (!apex.some((r) => r.type === RRType.NS)) err(topLine, `no NS records at zone apex ${origin}`);

  // Wildcards: RFC 4592 §2.1.1 only gives `*` meaning as the leftmost label.
  for (const r of inZone) {
    if (r.name.split('.').slice(1).includes('*')) err(r.line, `wildcard "*" only allowed as leftmost label in ${r.name}`);
  }

  // CNAME rules (RFC 1034 §3.6.2, RFC 2181 §10.1).
  for (const [name, list] of byName) {
    const cnames = list.filter((r) => r.type === RRType.CNAME);
    if (cnames.length === 0) continue;
    if (name === origin) {
      // The apex always has SOA and NS, so a "CNAME and other data" error would only repeat this one.
      err(cnames[0]!.line, `CNAME not allowed at zone apex ${origin}`);
      continue;
    }
    for (const r of cnames.slice(1)) err(r.line, `more than one CNAME at ${name} (first at line ${cnames[0]!.line})`);
    const other = list.find((r) => r.type !== RRType.CNAME && r.type !== RRSIG && r.type !== NSEC);
    if (other) {
      const line = Math.max(other.line, cnames[0]!.line);
      err(line, `CNAME and other data at ${name} (${typeName(other.type)} at line ${other.line}, CNAME at line ${cnames[0]!.line})`);
    }
  }

  // Delegations: the topmost cut above a name decides, since a nested NS is itself occluded.
  const cuts = new Set<string>();
  for (const r of inZone) if (r.type === RRType.NS && r.name !== origin) cuts.add(r.name);
  const cutAbove = (name: string): string | undefined => {
    let found: string | undefined;
    for (let n = name; n !== origin && n !== '.'; n = parentName(n)) {
      if (cuts.has(n)) found = n;
    }
    return found;
  };
  for (const r of inZone) {
    const cut = cutAbove(r.name);
    if (cut === undefined || ADDRESS.has(r.type)) continue;
    const atCut = r.name === cut && (r.type === RRType.NS || r.type === DS || r.type === RRSIG || r.type === NSEC);
    if (!atCut) err(r.line, `${typeName(r.type)} at ${r.name} occluded by delegation at ${cut}`);
  }

  // RRset TTLs: BIND warns and uses the first; an RRset has one TTL on the wire (RFC 2181 §5.2).
  const firstOfSet = new Map<string, ParsedRecord>();
  for (const r of inZone) {
    const k = `${r.name} ${r.type}`;
    const first = firstOfSet.get(k);
    if (first === undefined) firstOfSet.set(k, r);
    else if (first.ttl !== r.ttl) {
      err(r.line, `TTL ${r.ttl} differs from ${first.ttl} of the same RRset (line ${first.line})`);
    }
  }

  // RFC 2181 §10.3: MX, SRV and NS targets must not be aliases.
  const cnameLine = new Map<string, number>();
  for (const r of inZone) if (r.type === RRType.CNAME && !cnameLine.has(r.name)) cnameLine.set(r.name, r.line);
  for (const r of inZone) {
    const d = r.rdata;
    const [what, target] = d.type === 15 ? ['MX exchange', d.exchange] : d.type === 33 ? ['SRV target', d.target] : d.type === 2 ? ['NS target', d.target] : [undefined, undefined];
    const line = target === undefined ? undefined : cnameLine.get(target);
    if (line !== undefined) err(r.line, `${what} ${target} is a CNAME (line ${line})`);
  }

  return errors.sort((a, b) => a.line - b.line);
}
