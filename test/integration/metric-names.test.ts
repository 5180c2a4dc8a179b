/**
 * Every metric of every role, as Prometheus scrapes it (issue 18): real `meridian serve --workers 2`,
 * `meridian probe` and `meridian forward` on one Redis, each /metrics page linted by `promtool check
 * metrics` (Debian's prometheus package, installed by .ci/run), and each metric family named in its
 * component's README (a metric nobody documented is one an operator cannot read).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, freePort } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis } from '../helpers/redis.js';
import { clusterYaml, deferrer, spawnRole, until } from '../helpers/role.js';

const PROMTOOL = '/usr/bin/promtool';

/** The README that must document `name`: its component's, by the second word of the name. */
export function readmeOf(name: string): string {
  // prom-client's process and runtime metrics, and the build's: the metrics module's own README.
  if (/^meridian_(process|nodejs)_/.test(name) || name === 'meridian_build_info') return 'src/obs/README.md';
  if (name.startsWith('meridian_dns_worker_') || name.startsWith('meridian_node_')) return 'src/node/workers/README.md';
  // What a role's config sources count (src/node/sources.ts).
  if (name.startsWith('meridian_config_')) return 'src/node/README.md';
  return `src/${name.split('_')[1]}/README.md`;
}

/** Metric family names on a page (its `# TYPE` lines). */
const families = (page: string): string[] => [...page.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!);

async function page(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
}

test('every metric of serve (2 workers), probe and forward passes promtool and is in its README', { skip: redisSkipReason() || (!existsSync(PROMTOOL) && `${PROMTOOL} not installed`) }, async (t) => {
  const defer = deferrer(t);
  const redis = await startRedis();
  defer(() => redis.stop());
  const ports = { serve: await freePort(), probe: await freePort(), forward: await freePort() };
  const { file } = await clusterYaml(t, redis.url, { metrics: { listen: `127.0.0.1:${ports.serve}` } });
  const roles = {
    serve: ['serve', '--workers', '2', '--config', file],
    probe: ['probe', '--region', 'us-east', '--metrics', `127.0.0.1:${ports.probe}`, '--config', file],
    forward: ['forward', '--region', 'us-east', '--metrics', `127.0.0.1:${ports.forward}`, '--config', file],
  };
  const pages: Record<string, string> = {};
  for (const [role, args] of Object.entries(roles)) {
    const p = spawnRole(args, { MERIDIAN_WORKERS: '' });
    defer(() => p.stop());
    await p.line((l) => l.msg === 'ready', 60_000, `${role} ready`);
    const port = ports[role as keyof typeof ports];
    // A served DNS query, so the workers' DNS series are on the serve page.
    if (role === 'serve') await until(async () => /^meridian_dns_requests_total/m.test(await page(port)), 15_000, 'the workers’ metrics on the page');
    pages[role] = await page(port);
  }
  const undocumented: string[] = [];
  for (const [role, text] of Object.entries(pages)) {
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.status, 0, `${role}: promtool check metrics:\n${lint.stdout}${lint.stderr}`);
    const names = families(text);
    assert.ok(names.length > 20, `${role}: ${names.length} metric families`);
    for (const name of names) {
      assert.match(name, /^meridian_[a-z0-9_]+$/, `${role}: ${name} is meridian_<component>_<name>`);
      const readme = readFileSync(join(REPO_ROOT, readmeOf(name)), 'utf8');
      if (!new RegExp(`\`${name}(\`|\\{)`).test(readme)) undocumented.push(`${name} in ${readmeOf(name)}`);
    }
  }
  assert.deepEqual([...new Set(undocumented)], [], 'every metric documented');
});
