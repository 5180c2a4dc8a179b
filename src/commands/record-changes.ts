/**
 * The static records a whole-config change would change, by zone, owner and type: a dry run's
 * answers compare services only (src/admin/dryrun-compare.ts), while the issue asks `apply
 * --dry-run` for "the answers that would change", and a zone's own records are answers too. Owners
 * are compared as absolute names (`@`, relative and absolute spellings of one name are one owner).
 * @module
 */
export interface ZoneRecords {
  origin: string;
  records: readonly { name: string; ttl?: number | undefined; type: string; data: string }[];
}

export interface RecordChange {
  zone: string;
  name: string;
  type: string;
  before: string[];
  after: string[];
}

const canonical = (name: string): string => name.toLowerCase().replace(/\.?$/, '.');

function owner(name: string, origin: string): string {
  if (name === '@') return origin;
  return name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.${origin}`;
}

/** zone -> "owner TYPE" -> sorted "ttl data" lines. */
function index(zones: readonly ZoneRecords[]): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const z of zones) {
    const origin = canonical(z.origin);
    const rrsets = out.get(origin) ?? new Map<string, string[]>();
    out.set(origin, rrsets);
    for (const r of z.records) {
      const key = `${owner(r.name, origin)} ${r.type.toUpperCase()}`;
      const rrset = rrsets.get(key) ?? [];
      rrset.push(`${r.ttl ?? ''} ${r.data.trim().replace(/\s+/g, ' ')}`.trim());
      rrsets.set(key, rrset);
    }
  }
  for (const rrsets of out.values()) for (const lines of rrsets.values()) lines.sort();
  return out;
}

export function recordChanges(before: readonly ZoneRecords[], after: readonly ZoneRecords[]): RecordChange[] {
  const a = index(before);
  const b = index(after);
  const changes: RecordChange[] = [];
  for (const zone of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const ra = a.get(zone) ?? new Map<string, string[]>();
    const rb = b.get(zone) ?? new Map<string, string[]>();
    for (const key of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
      const was = ra.get(key) ?? [];
      const now = rb.get(key) ?? [];
      if (was.join('\n') === now.join('\n')) continue;
      const [name, type] = key.split(' ') as [string, string];
      changes.push({ zone, name, type, before: was, after: now });
    }
  }
  return changes;
}

export function formatRecordChanges(changes: readonly RecordChange[]): string {
  if (changes.length === 0) return '';
  const side = (lines: string[]): string => (lines.length ? lines.join(' | ') : 'none');
  return `static records that would change (${changes.length}):\n` + changes.map((c) => `  ${c.name} ${c.type}: ${side(c.before)} -> ${side(c.after)}\n`).join('');
}
