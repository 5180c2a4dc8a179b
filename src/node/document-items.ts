/**
 * Schema defaults and schema checks of a config document, item by item, remembered by each item's
 * JSON text (issue 17). Filling defaults (`Value.Default`) and checking (`Value.Errors`) the whole
 * document, after a `structuredClone` of it, cost 0.2-0.4 s at 10,000 endpoints on every write and
 * on every version a node applied, although a registration changes one region. Both are pure
 * functions of an item's JSON text (a zone, a region with its component blocks, a service), so a
 * zone, region or service whose text was seen in the last compile is neither defaulted nor checked
 * again: its defaulted text is reused.
 *
 * Only a valid document takes this path. Anything else (a document that is not an object of the
 * three lists, a key the schema does not know, an item that fails its check) returns null and the
 * caller runs the whole-document path, so every problem keeps its message, path and order.
 * @module
 */
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ZoneSourceSchema, type ConfigDocument } from '../config/document.js';
import { RegionSchema, ServiceSchema } from '../config/schema.js';
import { checkRegionBlocks } from '../config/sections.js';

export type ItemKind = 'zone' | 'region' | 'service';

/** Items defaulted and checked (`checked`) and items answered by an earlier compile (`reused`), by kind. */
export const itemWork: Record<ItemKind, { checked: number; reused: number }> = {
  zone: { checked: 0, reused: 0 },
  region: { checked: 0, reused: 0 },
  service: { checked: 0, reused: 0 },
};

const LISTS: [key: 'zones' | 'regions' | 'services', kind: ItemKind, schema: TSchema][] = [
  ['zones', 'zone', ZoneSourceSchema],
  ['regions', 'region', RegionSchema],
  ['services', 'service', ServiceSchema],
];

/** Input text → defaulted text of the valid items of the last compile (bounded by one document). */
let known = new Map<string, string>();

/** The defaulted text of one item, or null when it fails its schema (or a region block's). */
function defaulted(kind: ItemKind, schema: TSchema, text: string): string | null {
  const value = Value.Default(schema, JSON.parse(text) as unknown);
  if (Value.Errors(schema, value).First()) return null;
  if (kind === 'region' && checkRegionBlocks([value]).length > 0) return null;
  return JSON.stringify(value);
}

/**
 * The document with its schema defaults filled in, as a fresh object, or null when the caller must
 * take the whole-document path (see the module doc). The lists keep the input's key order, a
 * missing `regions` or `services` list is added empty after the others, as `Value.Default` adds it.
 */
export function defaultedDocument(input: unknown): ConfigDocument | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const doc = input as Record<string, unknown>;
  const keys = Object.keys(doc);
  if (keys.some((k) => (k !== 'zones' && k !== 'regions' && k !== 'services') || doc[k] === undefined)) return null;
  if (!Array.isArray(doc.zones) || doc.zones.length === 0) return null;
  const next = new Map<string, string>();
  const parts = new Map<string, string>();
  for (const [key, kind, schema] of LISTS) {
    const list = doc[key] ?? [];
    if (!Array.isArray(list)) return null;
    const texts: string[] = [];
    for (const item of list) {
      const text = JSON.stringify(item) as string | undefined;
      if (text === undefined) return null;
      let out = next.get(text) ?? known.get(text);
      if (out === undefined) {
        const fresh = defaulted(kind, schema, text);
        if (fresh === null) return null;
        out = fresh;
        itemWork[kind].checked++;
      } else itemWork[kind].reused++;
      next.set(text, out);
      texts.push(out);
    }
    parts.set(key, `[${texts.join(',')}]`);
  }
  known = next;
  const order = [...keys, ...LISTS.map(([key]) => key).filter((k) => !keys.includes(k))];
  return JSON.parse(`{${order.map((k) => `"${k}":${parts.get(k)}`).join(',')}}`) as ConfigDocument;
}
