/**
 * Readable log lines for a terminal, from pino's JSON lines: time, level, component, message, then
 * `key=value` fields (nested objects as dotted keys), and an error's stack indented below. It is a
 * pino destination (a `write(line)` stream) rather than pino-pretty, which is a dev dependency
 * elsewhere and would be missing from a production install (`npm ci --omit=dev`). Each record is
 * formatted whole and written with one `write`, so the lines of `serve --workers N` (every worker
 * writes to the same terminal) stay whole.
 * @module
 */
import { paint, type Paint } from './colour.js';

const LEVELS: Record<number, [string, Paint | undefined]> = {
  10: ['TRACE', 'dim'],
  20: ['DEBUG', 'cyan'],
  30: ['INFO', 'green'],
  40: ['WARN', 'yellow'],
  50: ['ERROR', 'red'],
  60: ['FATAL', 'magenta'],
};

/** Keys the line's head shows, or that add nothing on a terminal. */
const HEAD = new Set(['time', 'level', 'component', 'msg', 'hostname']);

/** A value as it can be read back: bare when it has no space, quote, `=` or control character. */
function scalar(v: unknown): string {
  if (typeof v === 'string') {
    const quoted = JSON.stringify(v);
    // JSON escapes control characters, `"` and `\`: a string it leaves alone needs no quotes unless empty or spaced.
    return v !== '' && quoted.length === v.length + 2 && !/[\s'=]/.test(v) ? v : quoted;
  }
  if (v === null || typeof v !== 'object') return String(v);
  return JSON.stringify(v);
}

/** `key=value` pairs; plain objects are flattened to dotted keys, arrays stay JSON. */
function pairs(prefix: string, obj: Record<string, unknown>, out: string[], stacks: string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (k === 'stack' && typeof v === 'string') stacks.push(v);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) pairs(key, v as Record<string, unknown>, out, stacks);
    else out.push(`${key}=${scalar(v)}`);
  }
}

/** One JSON log line (pino's, with or without its newline) as a readable line; anything else as it came. */
export function formatLine(json: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return json.endsWith('\n') ? json : json + '\n';
  const [name, hue] = LEVELS[rec.level as number] ?? [String(rec.level ?? '?').toUpperCase(), undefined];
  const head = [paint(String(rec.time ?? ''), 'dim', colour), paint(name.padEnd(5), hue, colour)];
  if (rec.component !== undefined) head.push(paint(`${String(rec.component)}:`, 'bold', colour));
  head.push(rec.msg === undefined ? '' : String(rec.msg).replace(/\n/g, '\\n'));
  const fields: string[] = [];
  const stacks: string[] = [];
  // The pid last: the same on every line of a process, it tells workers apart.
  const { pid, ...rest } = Object.fromEntries(Object.entries(rec).filter(([k]) => !HEAD.has(k)));
  pairs('', pid === undefined ? rest : { ...rest, pid }, fields, stacks);
  const line = [...head, ...fields.map((f) => paint(f, 'dim', colour))].filter((s) => s !== '').join(' ');
  const below = stacks.flatMap((s) => s.split('\n').map((l) => `    ${l}`));
  return [line, ...below].join('\n') + '\n';
}

/** A pino destination writing readable lines to `out` (one `write` per record). */
export function prettyStream(out: { write(s: string): unknown }, colour: boolean): { write(line: string): void } {
  return { write: (line: string) => void out.write(formatLine(line, colour)) };
}
