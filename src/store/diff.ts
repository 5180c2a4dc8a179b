/**
 * Structural diff of two JSON values, for the `diff` of each config version (shown in the admin
 * API's history). Paths are RFC 6901 JSON pointers; objects are compared by key (keys sorted, so
 * key order never shows up as a change), arrays by index (no move detection: an insert in the
 * middle shows as replacements plus one add, which is honest about what a DNS node will see).
 *
 * The output is deterministic, and applied in order it is also a valid RFC 6902 patch from
 * `before` to `after`: array appends come in ascending index order and array removals in
 * descending order, so each operation's index is valid when it is applied.
 * `before`/`after` in the entries are the inputs' own sub-values (not copies): do not mutate them.
 * @module
 */
import type { DiffEntry } from './types.js';

/** RFC 6901 §3: `~` → `~0`, `/` → `~1` (in that order, or `/` would come back as `~01`). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function diffDocuments(before: unknown, after: unknown): DiffEntry[] {
  const out: DiffEntry[] = [];
  walk(before, after, '', out);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys with a defined value (JSON has no undefined: such a property is absent once stored). */
function definedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).filter((k) => o[k] !== undefined);
}

function walk(a: unknown, b: unknown, path: string, out: DiffEntry[]): void {
  if (a === undefined && b === undefined) return;
  if (a === undefined) {
    out.push({ op: 'add', path, after: b });
    return;
  }
  if (b === undefined) {
    out.push({ op: 'remove', path, before: a });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const common = Math.min(a.length, b.length);
    // JSON.stringify turns an undefined element into null; compare what will be stored.
    for (let i = 0; i < common; i++) walk(a[i] ?? null, b[i] ?? null, `${path}/${i}`, out);
    for (let i = common; i < b.length; i++) out.push({ op: 'add', path: `${path}/${i}`, after: b[i] ?? null });
    for (let i = a.length - 1; i >= common; i--) out.push({ op: 'remove', path: `${path}/${i}`, before: a[i] ?? null });
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...definedKeys(a), ...definedKeys(b)])].sort();
    for (const k of keys) walk(a[k], b[k], `${path}/${escapePointerToken(k)}`, out);
    return;
  }
  if (a === b) return;
  out.push({ op: 'replace', path, before: a, after: b });
}
