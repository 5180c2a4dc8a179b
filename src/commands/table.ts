/**
 * Tables and colour for people (the daily commands). Colour only when stdout is a terminal, and
 * never with NO_COLOR set (no-color.org) or TERM=dumb (src/obs/colour.ts), so pipes, files and
 * scripts get plain text; scripts should use `--json` anyway.
 * @module
 */

import { colourOn, paint, type Paint } from '../obs/colour.js';

export { colourOn, paint, type Paint };

/** The colour of a health or drain state: green for what is handed out, red for down, yellow for in between. */
export function stateColour(state: string | null | undefined): Paint | undefined {
  if (state === 'up' || state === 'none') return 'green';
  if (state === 'down') return 'red';
  if (state === 'drained' || state === 'lowering' || state === 'draining') return 'yellow';
  return undefined;
}

export interface Column<T> {
  title: string;
  value: (row: T) => string | number | null | undefined;
  paint?: (row: T) => Paint | undefined;
  /** Numbers read better right-aligned. */
  right?: boolean;
}

/** Rows under a header, columns two spaces apart; the last column is not padded. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[], on = colourOn()): string {
  const cells = rows.map((row) => columns.map((c) => text(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[], paints: (Paint | undefined)[]): string =>
    values
      .map((v, i) => {
        const last = i === values.length - 1;
        const pad = ' '.repeat(widths[i]! - v.length);
        const body = paint(v, paints[i], on);
        return columns[i]!.right ? pad + body : last ? body : body + pad;
      })
      .join('  ')
      .trimEnd();
  const header = line(
    columns.map((c) => c.title),
    columns.map(() => 'bold'),
  );
  return (
    [
      header,
      ...cells.map((r, k) =>
        line(
          r,
          columns.map((c) => c.paint?.(rows[k]!)),
        ),
      ),
    ].join('\n') + '\n'
  );
}

function text(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}

/** `key: value` lines with the keys aligned (one resource shown whole). */
export function fields(pairs: readonly [string, string][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n') + '\n';
}

/** A time for tables: ISO 8601 to the second, UTC. */
export function shortTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
