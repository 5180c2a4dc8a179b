/**
 * Just enough PromQL and exposition-format reading for test/deploy/observability.test.ts: which
 * series an expression selects (names and the labels it matches or groups by), and which metric
 * families a /metrics page has (with the label names seen on their samples).
 * @module
 */

export interface Family {
  name: string;
  type: string;
  /** Label names seen on the family's samples; empty when it had none yet. */
  labels: Set<string>;
  sampled: boolean;
}

export interface Families {
  all: Map<string, Family>;
  /** The family a series name belongs to: itself, or a histogram's/summary's `_bucket`, `_sum`, `_count`. */
  resolve(series: string): Family | undefined;
}

export function metricFamilies(text: string): Families {
  const all = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) all.set(type[1]!, { name: type[1]!, type: type[2]!, labels: new Set(), sampled: false });
  }
  const resolve = (series: string): Family | undefined => {
    const exact = all.get(series);
    if (exact) return exact;
    const m = /^(.*)_(bucket|sum|count)$/.exec(series);
    const base = m ? all.get(m[1]!) : undefined;
    return base && (base.type === 'histogram' || base.type === 'summary') ? base : undefined;
  };
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    const family = sample ? resolve(sample[1]!) : undefined;
    if (!family) continue;
    family.sampled = true;
    for (const l of (sample![2] ?? '').matchAll(/(\w+)="/g)) family.labels.add(l[1]!);
  }
  return { all, resolve };
}

export interface Selector {
  name: string;
  /** Labels the expression matches on this series, or groups by around it. */
  labels: string[];
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The series an expression selects. Grouping labels (`by (…)`) are attributed to every series of the expression. */
export function selectors(expr: string): Selector[] {
  // Strings go first (matchers' values, Grafana's "$instance"), then ranges ([5m], [$__rate_interval]).
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  const grouping: string[] = [];
  const noGroups = noStrings.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, _kw: string, labels: string) => {
    grouping.push(
      ...labels
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return ' ';
  });
  const out: Selector[] = [];
  for (const m of noGroups.matchAll(/([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, name, matchers, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    const matched = [...(matchers ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!);
    out.push({ name: name!, labels: matched });
  }
  const groupLabels = grouping.filter((l) => l !== 'le' && l !== 'instance' && l !== 'job');
  return out.map((s) => ({ ...s, labels: [...new Set([...s.labels, ...groupLabels])] }));
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows' nested panels too) and query variables (as their metric). */
export function dashboardExprs(dashboard: unknown): string[] {
  const d = dashboard as { panels?: Panel[]; templating?: { list?: { type?: string; query?: unknown }[] } };
  const exprs: string[] = [];
  const walk = (panels: Panel[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') exprs.push(t.expr);
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    const m = /^label_values\(\s*([^,]+),\s*(\w+)\s*\)$/.exec(q ?? '');
    if (m) exprs.push(`count by (${m[2]}) (${m[1]})`);
    else if (q) exprs.push(q);
  }
  return exprs;
}

interface Panel {
  targets?: { expr?: unknown }[];
  panels?: Panel[];
}

/** Every `expr` of a Prometheus rule file. */
export function ruleExprs(file: unknown): string[] {
  const f = file as { groups?: { rules?: { expr?: unknown }[] }[] };
  return (f.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => String(r.expr)));
}
