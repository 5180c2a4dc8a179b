/**
 * Reading deploy/systemd/ for test/deploy/systemd.test.ts and install.test.ts: a unit's directives,
 * the system calls its `SystemCallFilter=` lines let through (groups expanded by this host's
 * `systemd-analyze syscall-filter`), its exposure as `systemd-analyze security --offline` rates it,
 * and the install steps of meridian.service's header comment.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/dnsproc.js';

export const UNIT_DIR = join(REPO_ROOT, 'deploy/systemd');
export const UNITS = ['meridian.service', 'meridian-probe.service', 'meridian-forward.service'] as const;

/** Directive → every value it is given, in order (`[Service]` and the rest alike; comments left out). */
export function directives(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of readFileSync(join(UNIT_DIR, unit), 'utf8').split('\n')) {
    const line = raw.trim();
    const eq = line.indexOf('=');
    if (!line || line.startsWith('#') || line.startsWith('[') || eq < 0) continue;
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

/** The one value of a directive (the last, as systemd reads a repeated single-valued one). */
export const value = (d: Map<string, string[]>, key: string): string | undefined => d.get(key)?.at(-1);

/** Every `@group` of this host's systemd with its members (system calls and nested groups). */
function syscallGroups(): Map<string, string[]> {
  const r = spawnSync('systemd-analyze', ['syscall-filter', '--no-pager'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`systemd-analyze syscall-filter: ${r.stderr}`);
  const groups = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of r.stdout.split('\n')) {
    if (/^@\S+$/.test(line)) groups.set(line, (current = []));
    else if (current && /^\s+[@a-z_0-9-]+$/.test(line)) current.push(line.trim());
    else if (!line.trim()) current = null;
  }
  return groups;
}

function expand(names: string[], groups: Map<string, string[]>, into = new Set<string>()): Set<string> {
  for (const n of names) {
    if (n.startsWith('@')) expand(groups.get(n) ?? [], groups, into);
    else into.add(n);
  }
  return into;
}

/** The system calls a unit's SystemCallFilter= lines allow: the allow lists' union, less every `~` deny list. */
export function allowedSyscalls(unit: string): Set<string> {
  const groups = syscallGroups();
  const allowed = new Set<string>();
  const denied = new Set<string>();
  for (const v of directives(unit).get('SystemCallFilter') ?? []) {
    const deny = v.startsWith('~');
    expand((deny ? v.slice(1) : v).trim().split(/\s+/), groups, deny ? denied : allowed);
  }
  for (const s of denied) allowed.delete(s);
  return allowed;
}

export interface Exposure {
  unit: string;
  exposure: number;
  level: string;
  /** Every check the unit fails, as systemd-analyze prints it. */
  failing: string[];
}

/** `systemd-analyze security --offline=true` of a unit file; null when this systemd has no offline mode. */
export function exposure(unit: string): Exposure | null {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', join(UNIT_DIR, unit)], { encoding: 'utf8' });
  const m = /Overall exposure level for (\S+): (\d+\.\d+) (\w+)/.exec(r.stdout);
  if (!m) return null;
  return { unit: m[1]!, exposure: Number(m[2]), level: m[3]!, failing: r.stdout.split('\n').filter((l) => l.startsWith('✗')) };
}

/** The shell commands of meridian.service's "Install" comment, one a line, as an operator would paste them. */
export function installSteps(): string[] {
  const lines = readFileSync(join(UNIT_DIR, 'meridian.service'), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^# Install \(/.test(l));
  if (start < 0) throw new Error('meridian.service has no "# Install (" comment');
  const steps: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('#')) break;
    const m = /^# {3}(\S.*)$/.exec(l);
    if (m) steps.push(m[1]!);
    else if (steps.length) break;
  }
  return steps;
}
