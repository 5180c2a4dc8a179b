/**
 * Tables and colour for people (the daily commands). Colour only when stdout is a terminal, and
 * never with NO_COLOR set (no-color.org) or TERM=dumb, so pipes, files and scripts get plain text;
 * scripts should use `--json` anyway.
 * @module
 */

export type Paint = 'green' | 'red' | 'yellow' | 'dim' | 'bold';

const SGR: Record<Paint, [number, number]> = { green: [32, 39], red: [31, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] };

/** Whether to colour what goes to `stream`. */
export function colourOn(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function paint(text: string, p: Paint | undefined, on: boolean): string {
  if (!on || !p || !text) return text;
  const [open, close] = SGR[p];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}

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
