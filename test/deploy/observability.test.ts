/**
 * The monitoring files of deploy/ against a real node (issue 19): a `meridian serve` with metrics on,
 * an admin API on its file store, embedded probes and two embedded forwarders. Every metric that
 * deploy/grafana/meridian.json and deploy/prometheus/alerts.yaml name must be on its /metrics (the
 * `_bucket`/`_sum`/`_count` series of a histogram by its family), with the labels they select on
 * (the probe panels and rule: on a `meridian probe` sidecar's, started on a real Redis for it);
 * `promtool check rules` and `promtool test rules` (deploy/prometheus/alerts.test.yaml) must pass.
 * And the three metrics this issue added, seen through the same node: `meridian_build_info`,
 * `meridian_config_version` following an API change, `meridian_config_reload_failures_total`
 * counting a refused SIGHUP.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { startProbeFixture } from '../helpers/role.js';
import { redisSkipReason } from '../helpers/redis.js';
import { allRoles, ZONE } from './node.js';
import { dashboardExprs, metricFamilies, ruleExprs, selectors, type Families } from './promql.js';

const PKG_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/meridian.json');
const ALERTS = join(REPO_ROOT, 'deploy/prometheus/alerts.yaml');
/** Series Prometheus makes itself, never on a target's page. */
const PROMETHEUS_OWN = new Set(['up']);

let srv: RunningServer;
let backend: Server;
let metricsPort = 0;
let adminPort = 0;

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200);
  return res.text();
}

/** Polls /metrics until `pattern` matches (a bounded wait, never a timing assertion). */
async function until(pattern: RegExp, what: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  let text = '';
  while (Date.now() < deadline) {
    text = await scrape();
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(
    `${what}: ${pattern} not on /metrics within 10 s\n${text
      .split('\n')
      .filter((l) => l.startsWith('meridian_config'))
      .join('\n')}`,
  );
}

before(async () => {
  backend = createServer((s) => s.destroy());
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const roles = await allRoles(['eu', 'us'], (backend.address() as { port: number }).port);
  [metricsPort, adminPort] = [roles.metricsPort, roles.adminPort];
  srv = await startMeridian({
    zones: [{ origin: 'gslb.example.com', text: ZONE }],
    dns: { rrl: { responsesPerSecond: 1000 } },
    extra: roles.extra,
    readyTimeoutMs: 60_000,
  });
});

after(async () => {
  await srv?.stop();
  await new Promise((r) => backend?.close(r));
});

describe('build and config metrics through a real serve', { timeout: 60_000 }, () => {
  it('meridian_build_info names the package version and the host', async () => {
    const text = await scrape();
    assert.match(text, new RegExp(`^meridian_build_info\\{version="${PKG_VERSION.replace(/\./g, '\\.')}",node="${hostname()}"\\} 1$`, 'm'));
  });

  it('meridian_config_version follows an API change; a refused SIGHUP counts in meridian_config_reload_failures_total and keeps the version', async () => {
    await until(/^meridian_config_version 1$/m, 'the seeded version');
    const token = readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/regions/us/weight?reason=observability-test`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 50 }),
    });
    assert.equal(res.status, 200, await res.text());
    await until(/^meridian_config_version 2$/m, 'the version the API made');
    assert.match(await scrape(), /^meridian_config_reload_failures_total\{trigger="sighup"\} 0$/m);

    const good = readFileSync(srv.configPath, 'utf8');
    writeFileSync(srv.configPath, `${good}\nzones: [ unclosed\n`);
    try {
      process.kill(srv.pid, 'SIGHUP');
      const text = await until(/^meridian_config_reload_failures_total\{trigger="sighup"\} 1$/m, 'the refused reload');
      assert.match(text, /^meridian_config_reload_failures_total\{trigger="version"\} 0$/m);
      assert.match(text, /^meridian_config_version 2$/m, 'the running version stays');
    } finally {
      writeFileSync(srv.configPath, good);
    }
  });
});

describe('Grafana dashboard and Prometheus alert rules', { timeout: 60_000 }, () => {
  let families: Families;

  const checkExprs = (file: string, exprs: string[]): void => {
    assert.ok(exprs.length > 0, `${file} has expressions`);
    const missing: string[] = [];
    for (const expr of exprs) {
      for (const sel of selectors(expr)) {
        if (PROMETHEUS_OWN.has(sel.name)) continue;
        const family = families.resolve(sel.name);
        if (!family) {
          missing.push(`${sel.name} (in ${expr})`);
          continue;
        }
        // A family with no sample yet shows no labels (a relay that never happened): its name is what can be checked.
        if (family.sampled)
          for (const label of sel.labels) if (label !== 'job' && label !== 'instance' && !family.labels.has(label)) missing.push(`${sel.name}{${label}} (label not on ${family.name})`);
      }
    }
    assert.deepEqual(missing, [], `${file} names series that a running node does not export`);
  };

  it("every metric and label the dashboard and the alert rules query is on /metrics (a probe sidecar's for its own)", { skip: redisSkipReason() }, async (t) => {
    // The probe panels and rule read a probe sidecar's page (`meridian probe`, on Redis): one is scraped too.
    const probe = await startProbeFixture(t);
    const page = await fetch(`http://127.0.0.1:${probe.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(page.status, 200);
    families = metricFamilies((await scrape()) + '\n' + (await page.text()));
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as unknown;
    const exprs = dashboardExprs(dashboard);
    checkExprs('deploy/grafana/meridian.json', exprs);
    // What the issue asks the dashboard to show.
    for (const need of [
      'meridian_dns_responses_total',
      'meridian_forward_connections_total',
      'meridian_probe_check_duration_seconds_bucket',
      'meridian_health_region_state',
      'meridian_forward_connections_active',
      'meridian_config_version',
      // Issue 18's.
      'meridian_dns_requests_total',
      'meridian_dns_service_answers_total',
      'histogram_quantile(0.99, sum by (instance, le) (rate(meridian_dns_answer_duration_seconds_bucket',
      'meridian_dns_decision_cache_total',
      'meridian_dns_ecs_queries_total',
      'meridian_build_info',
      'meridian_config_reload_failures_total',
      'meridian_geo_database_build_epoch_seconds',
      'meridian_probe_publish_failures_total',
      'meridian_probe_last_publish_timestamp_seconds',
    ])
      assert.ok(
        exprs.some((e) => e.includes(need)),
        `the dashboard shows ${need}`,
      );
    checkExprs('deploy/prometheus/alerts.yaml', ruleExprs(parse(readFileSync(ALERTS, 'utf8')) as unknown));
  });

  it('promtool check rules and promtool test rules pass', (t) => {
    const version = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (version.error) {
      if (process.env.CI) assert.fail('promtool missing in CI (.ci/run installs prometheus)');
      t.skip('promtool not installed (apt-get install prometheus)');
      return;
    }
    const cwd = join(REPO_ROOT, 'deploy/prometheus');
    const check = spawnSync('promtool', ['check', 'rules', 'alerts.yaml'], { cwd, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 10 rules found/);
    const test = spawnSync('promtool', ['test', 'rules', 'alerts.test.yaml'], { cwd, encoding: 'utf8' });
    assert.equal(test.status, 0, test.stdout + test.stderr);
  });
});
