/**
 * README "Environment variables" against the code (issue 18): every variable src/ reads, found
 * where it is read (`env.NAME`, `env['NAME']`, commander's `.env('NAME')`, the Redis credential
 * names of src/redis/config.ts), is a row of the table, and every row is read somewhere.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REDIS_ENV } from '../../src/redis/config.js';
import { markdownTable } from '../helpers/markdown.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !/\.(test|bench)\.ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

test('the README table names every environment variable src/ reads, and nothing else', () => {
  const read = new Set<string>(Object.values(REDIS_ENV));
  for (const file of sources('src')) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) read.add(m[1] ?? m[2]!);
    for (const m of text.matchAll(/\.env\(['"]([A-Z][A-Z0-9_]*)['"]\)/g)) read.add(m[1]!);
  }
  assert.ok(read.has('MERIDIAN_LOG_LEVEL') && read.has('MERIDIAN_WORKERS'), `the scan finds reads: ${[...read].join(', ')}`);
  const table = markdownTable(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'variable', '## Environment variables');
  const documented = new Set(table.flatMap(([cell]) => [...cell!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!)));
  assert.deepEqual([...read].filter((v) => !documented.has(v)).sort(), [], 'read but not in the table');
  assert.deepEqual([...documented].filter((v) => !read.has(v)).sort(), [], 'in the table but never read');
});
