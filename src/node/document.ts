/**
 * The config document compiler: a document (src/config/document.ts) validated with the same schema
 * pieces, zone parser/validator and routing compiler as the YAML path (one set of rules), every
 * problem reported with an RFC 6901 path into the document (`/regions/1/addresses/ipv4/0`), which
 * is what the admin API returns as `field`. Load it through src/node/config.ts, which registers
 * the sections whose region blocks it checks.
 * @module
 */
import { Value } from '@sinclair/typebox/value';
import { ConfigDocumentSchema, pointer, type CompileResult, type ConfigDocument, type DocumentProblem } from '../config/document.js';
import { oncePerMissing, schemaMessage } from '../config/schema-messages.js';
import { checkRegionBlocks } from '../config/sections.js';
import { defaultedDocument } from './document-items.js';
import { compileRouting } from '../routing/compile.js';
import { compileZoneSource, owningOrigin, serviceZoneClashes } from '../zone/load.js';
import { canonicalOrigin } from '../zone/parse.js';
import type { Zone } from '../zone/zone.js';

/**
 * Validates a whole document (schema, zones, regions, services and how they fit together) and
 * compiles it. Defaults are filled in; the returned `document` is the normalised one to store.
 */
export function compileDocument(input: unknown, probeDefaults: unknown = {}): CompileResult {
  const checked = defaultedDocument(input ?? {}) ?? checkWhole(input);
  if (!Array.isArray(checked)) return compileChecked(checked, probeDefaults);
  return { ok: false, problems: checked.slice(0, 50) };
}

/**
 * The whole document defaulted and checked at once: the path of a document that is not valid
 * item by item (document-items.ts), so its problems come in the schema's own order.
 */
function checkWhole(input: unknown): ConfigDocument | DocumentProblem[] {
  const document = Value.Default(ConfigDocumentSchema, structuredClone(input ?? {})) as ConfigDocument;
  const problems: DocumentProblem[] = [];
  // The reason names the field: an API client sees it as the message (src/admin/README.md, Errors).
  for (const e of oncePerMissing(Value.Errors(ConfigDocumentSchema, document))) problems.push({ path: e.path || '/', reason: `${e.path || '/'} ${schemaMessage(e)}` });
  for (const { pointer, error } of checkRegionBlocks(document.regions)) problems.push({ path: pointer, reason: `${pointer} ${schemaMessage(error)}` });
  return problems.length ? problems : document;
}

/** Compiles a document whose schema defaults are filled in and whose schema checks passed. */
function compileChecked(document: ConfigDocument, probeDefaults: unknown): CompileResult {
  const problems: DocumentProblem[] = [];

  const origins = document.zones.map((z) => canonicalOrigin(z.origin));
  const { routing, problems: routingProblems } = compileRouting(document.regions, document.services, origins, probeDefaults);
  // Routing paths are relative to the YAML root, where regions/services sit just as in a document;
  // a `health` path means the YAML's probe defaults, which the document does not contain.
  for (const p of routingProblems) problems.push({ path: p.path[0] === 'health' ? '/' : pointer(p.path), reason: p.reason, ...(p.code ? { code: p.code } : {}) });

  const zones: Zone[] = [];
  const seen = new Map<string, number>();
  // Each service's index by its canonical name, once: looking it up per service was O(services²).
  const serviceIndex = new Map<string, number>();
  document.services.forEach((s, i) => {
    const name = canonicalOrigin(s.name);
    if (!serviceIndex.has(name)) serviceIndex.set(name, i);
  });
  document.zones.forEach((zone, z) => {
    const origin = origins[z]!;
    if (seen.has(origin)) {
      problems.push({ path: pointer(['zones', z, 'origin']), reason: `zone ${origin} is listed twice` });
      return;
    }
    seen.set(origin, z);
    const mine = routing.services.filter((s) => owningOrigin(s.name, origins) === origin);
    const compiled = compileZoneSource(
      zone,
      z,
      mine.map((s) => s.name),
    );
    if (Array.isArray(compiled)) {
      problems.push(...compiled);
      return;
    }
    zones.push(compiled);
    for (const svc of mine) {
      const index = serviceIndex.get(svc.name) ?? -1;
      for (const reason of serviceZoneClashes(compiled, svc.name)) problems.push({ path: pointer(['services', index, 'name']), reason });
    }
  });
  if (problems.length) return { ok: false, problems };
  return { ok: true, compiled: { zones, routing }, document };
}
