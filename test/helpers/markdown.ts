/**
 * Tables of a Markdown README as cells, for the tests that hold a README to the code (config keys,
 * error codes, routes).
 * @module
 */
import assert from 'node:assert/strict';

/**
 * The body rows of the first table whose header row starts with `| first |`, after the line that
 * starts with `after` when given (a section heading), each as its trimmed cells.
 */
export function markdownTable(text: string, first: string, after?: string): string[][] {
  const lines = text.split('\n');
  const from = after === undefined ? 0 : lines.findIndex((l) => l.startsWith(after));
  assert.ok(from >= 0, `no line starting with "${after}"`);
  const start = lines.findIndex((l, i) => i >= from && l.startsWith(`| ${first} |`));
  assert.ok(start >= 0, `no table headed "${first}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}
