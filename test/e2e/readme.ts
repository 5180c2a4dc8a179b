/**
 * `npm run e2e -- --readme`: puts the latest table, with the machine it was measured on, into
 * README.md between the markers `<!-- e2e:begin -->` and `<!-- e2e:end -->`.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { formatTable, type Row } from './table.js';

const BEGIN = '<!-- e2e:begin -->';
const END = '<!-- e2e:end -->';

export function writeReadme(rows: Row[], machine: string, seconds: number): void {
  const file = join(REPO_ROOT, 'README.md');
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const body = `${BEGIN}\n${formatTable(rows)}\n\n\`npm run e2e\`, ${when} UTC, whole run ${seconds.toFixed(0)} s, on ${machine}.\n${END}`;
  writeFileSync(file, text.slice(0, a) + body + text.slice(b + END.length));
}
