/**
 * The results table (drill, figure, goal, pass) and the machine it was measured on, for the
 * terminal and for README.md.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface Row {
  drill: string;
  figure: string;
  value: string;
  goal: string;
  /** null: a figure reported for information, with no goal to meet. */
  pass: boolean | null;
  /** A goal on elapsed time, which a loaded machine can miss (e2e.test.ts judges these in CI). */
  timing?: boolean;
}

export function row(drill: string, figure: string, value: string, goal: string, pass: boolean | null): Row {
  return { drill, figure, value, goal, pass };
}

/** A row whose goal is a bound on elapsed time. */
export function timedRow(drill: string, figure: string, value: string, goal: string, pass: boolean): Row {
  return { drill, figure, value, goal, pass, timing: true };
}

const mark = (p: boolean | null): string => (p === null ? '—' : p ? 'pass' : '**FAIL**');
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A Markdown table: readable in a terminal, and what README.md carries. */
export function formatTable(rows: Row[]): string {
  const lines = ['| drill | figure | measured | goal | pass |', '|---|---|---:|---|---|'];
  for (const r of rows) lines.push(`| ${cell(r.drill)} | ${cell(r.figure)} | ${cell(r.value)} | ${cell(r.goal)} | ${mark(r.pass)} |`);
  return lines.join('\n');
}

export function failed(rows: Row[]): Row[] {
  return rows.filter((r) => r.pass === false);
}

/** CPU model and count, memory, kernel, Node, distribution and the load average when measured. */
export function machine(): string {
  const cpu = cpus();
  let distro = '';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(execFileSync('cat', ['/etc/os-release'], { encoding: 'utf8' }))?.[1] ?? '';
  } catch {
    // not Linux-like: leave it out
  }
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${distro || 'Linux'} (kernel ${release()}), Node ${process.version}; load average ${load} at the end of the run`;
}

/** Milliseconds as seconds with two decimals. */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
