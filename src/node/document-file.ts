/**
 * A YAML config's zones, regions and services as a config document, for `meridian apply`: the YAML
 * read and checked against the schema (problems at their lines), each zone's file or inline records
 * parsed; nothing else judged here. Import it through src/node/config.ts (the sections registered). The node the document is sent to validates it whole, against
 * its own settings (health.targets, forwarders), as it validates every write.
 * @module
 */
import type { ConfigDocument, ZoneSource } from '../config/document.js';
import { readConfigText } from '../config/load.js';
import type { SourceError } from '../config/source-error.js';
import { canonicalOrigin } from '../zone/parse.js';
import { parseZoneSource } from '../zone/present.js';
import { readConfigFileUtf8, readConfigSource, zoneTextOf, type ConfigReader } from './load.js';

export type DocumentFile = { ok: true; file: string; document: ConfigDocument; lineOf: (path: (string | number)[]) => number } | { ok: false; errors: SourceError[] };

export function readDocumentFile(path: string, readFile: ConfigReader = readConfigFileUtf8): DocumentFile {
  const source = readConfigSource(path, readFile);
  if (!source.ok) return source;
  const { file, text } = source;
  const result = readConfigText(text, file);
  if (!result.ok) return result;
  const { source: yaml, regions, lineOf } = result.read;
  const errors: SourceError[] = [];
  const zones: ZoneSource[] = [];
  yaml.zones.forEach((ref, i) => {
    const zone = zoneTextOf(ref, i, file, lineOf, readFile);
    if ('error' in zone) return errors.push({ file, line: lineOf(['zones', i]), reason: zone.error });
    const parsed = parseZoneSource(zone.zoneText, canonicalOrigin(ref.origin), zone.zoneFile);
    if (Array.isArray(parsed)) errors.push(...parsed.map(zone.fromZone));
    else zones.push(parsed);
  });
  if (errors.length) return { ok: false, errors };
  return { ok: true, file, document: { zones, regions, services: yaml.services }, lineOf };
}
