/**
 * Colour for people: only when the stream is a terminal, never with NO_COLOR set (no-color.org) or
 * TERM=dumb, so pipes, files and scripts get plain text. Shared by the daily commands' tables
 * (src/commands/table.ts) and the readable log lines (log-format.ts).
 * @module
 */

export type Paint = 'green' | 'red' | 'yellow' | 'dim' | 'bold' | 'cyan' | 'magenta';

const SGR: Record<Paint, [number, number]> = {
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  magenta: [35, 39],
  dim: [2, 22],
  bold: [1, 22],
};

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
