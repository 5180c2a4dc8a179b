/**
 * A DNS node's local copy of the config version it runs (cluster mode): written after each
 * version it applies, read at boot, so a node can start and answer while Redis is away (static
 * stability). Written with the store's one atomic routine, so a crash leaves the old copy or the
 * new one.
 * @module
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { parseVersionRecord, parseVersionText } from './records.js';
import type { VersionRecord } from './types.js';

export async function writeLocalCopy(path: string, record: VersionRecord): Promise<void> {
  // Check before writing: a copy that cannot be read back would only fail at the next boot.
  parseVersionRecord(record, `local config copy ${path}`);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(record)}\n`);
}

/** The copy, or null when there is none yet; a damaged copy throws (the node must not boot on half a config). */
export function readLocalCopy(path: string): VersionRecord | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`local config copy ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseVersionText(text, `local config copy ${path} is corrupt`);
}
