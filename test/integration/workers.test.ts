/**
 * `meridian serve --workers 2` through its public paths (issue 17, "Every core"): real processes,
 * real UDP and TCP clients, /metrics over HTTP, the admin API, signals.
 *
 * Which worker answered is read from `meridian_dns_worker_queries_total{worker}` (each client query
 * comes from a new socket, so from a new source port: both port-sharing mechanisms spread those over
 * the workers). Node A has an admin API (config from its store, health from its in-process probes'
 * plane): both workers answer UDP and TCP, /metrics sums them, and a config change and an override
 * made through the API reach the answers of every worker; it shares its ports through node:cluster's
 * handles. Node B is YAML-only and runs the runtime's default (reusePort on Node >= 22.12, so one
 * run on Node 24 covers both mechanisms): SIGHUP with a good and a bad file, kill -9 of a worker while clients query
 * (no loss beyond the queries in flight, the worker comes back with the config in force, counters
 * never go back), and SIGTERM (exit 0, no worker left).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { decode, query, tcpExchange, udpExchange } from '../helpers/client.js';
import { freePort, REPO_ROOT, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { samples, until } from '../helpers/role.js';
import { reusePortAvailable } from '../../src/node/workers/plan.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'wk.example';
const zone = (www: string): string => `$ORIGIN ${Z}.\n$TTL 60\n@ IN SOA ns1 host 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A ${www}\n`;
const serveWith = (workers: string): string[] => [process.execPath, ...MERIDIAN_ENTRY, 'serve', '--config', '{config}', '--workers', workers];
const REGIONS = [
  { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } },
  { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.10'] } },
];
const SERVICES = [{ name: `svc.${Z}`, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }];

async function scrape(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
}

/** Queries answered per worker slot so far. */
async function perWorker(port: number): Promise<Map<string, number>> {
  return samples(await scrape(port), 'meridian_dns_worker_queries_total');
}

/** `n` UDP queries for `name`, each from its own socket, `parallel` at a time: the first A of each answer (null: none). */
async function answers(port: number, name: string, n: number, parallel = 20): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, n - i) }, async () => {
        const raw = await udpExchange(port, query(name, 'A'), { timeoutMs: 1000 });
        return raw ? ((decode(raw).answers.find((a) => a.type === 'A')?.data as string | undefined) ?? null) : null;
      }),
    );
    out.push(...batch);
  }
  return out;
}

/**
 * Queries until a batch answers `want` from every query and every worker answered some of that
 * batch (its counter moved): then every worker answers `want`. Resolves with how long it took.
 */
async function everyWorkerAnswers(dnsPort: number, metricsPort: number, name: string, want: string, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const before = await perWorker(metricsPort);
    const got = await answers(dnsPort, name, 40);
    const after = await perWorker(metricsPort);
    const moved = [...after].filter(([k, v]) => v > (before.get(k) ?? 0)).length;
    if (got.every((a) => a === want) && moved === 2) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`not every worker answers ${want} for ${name}: ${JSON.stringify(got)}, workers that answered: ${moved}`);
  }
}

/** The DNS worker processes of a node: its children running the worker entry point. */
function workerPids(primary: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === primary && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('workers/main')) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('serve --workers 2 with an admin API', () => {
  // node:cluster's shared handles (Node B runs the runtime's default: reusePort where it has it).
  let node: ApiNode;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: zone('192.0.2.80') }],
      command: serveWith('2'),
      extra: { metrics: { listen: `127.0.0.1:${metricsPort}` }, regions: REGIONS, services: SERVICES },
      env: { MERIDIAN_WORKER_SHARING: 'cluster' },
    });
  });
  after(async () => {
    await node?.stop();
  });

  test('both workers answer UDP and TCP, and /metrics sums their counters', async () => {
    assert.equal(workerPids(node.pid).length, 2, 'two worker processes');
    const udp = await answers(node.port, `www.${Z}`, 200);
    assert.deepEqual(new Set(udp), new Set(['192.0.2.80']), 'every UDP query answered');
    const tcp = await Promise.all(Array.from({ length: 20 }, () => tcpExchange(node.port, [query(`www.${Z}`, 'A')])));
    assert.equal(tcp.filter((r) => r.length === 1).length, 20, 'every TCP query answered');
    const text = await scrape(metricsPort);
    const queries = samples(text, 'meridian_dns_queries_total');
    // Only this test's queries reach the DNS port (the helper's readiness probe asks the API).
    assert.equal(queries.get('{transport="udp"}'), 200);
    assert.equal(queries.get('{transport="tcp"}'), 20);
    const byWorker = samples(text, 'meridian_dns_worker_queries_total');
    assert.deepEqual([...byWorker.keys()].sort(), ['{worker="1"}', '{worker="2"}']);
    assert.ok(
      [...byWorker.values()].every((n) => n > 0),
      `both workers answered: ${JSON.stringify([...byWorker])}`,
    );
    assert.equal(
      [...byWorker.values()].reduce((a, b) => a + b, 0),
      220,
      'the per-worker counts add up to the sum',
    );
    assert.equal(samples(text, 'meridian_node_workers').get(''), 2);
    assert.equal(samples(text, 'meridian_dns_responses_total').get('{rcode="NOERROR"}'), 220);
    // The primary's own metrics are there once (one HELP line per metric on the page).
    assert.equal(text.split('\n').filter((l) => l === '# HELP meridian_process_cpu_seconds_total Total user and system CPU time spent in seconds.').length, 1);
  });

  test('a config change and an override through the API reach the answers of every worker', async (t) => {
    const records = (await node.api('GET', `/v1/zones/${Z}`)).json.records as { name: string; type: string; data: string }[];
    const put = await node.api('PUT', `/v1/zones/${Z}`, { records: records.map((r) => (r.name === 'www' && r.type === 'A' ? { ...r, data: '192.0.2.81' } : r)) });
    assert.equal(put.status, 200, put.text);
    t.diagnostic(`zone change in every worker after ${await everyWorkerAnswers(node.port, metricsPort, `www.${Z}`, '192.0.2.81')} ms`);
    assert.equal((await answers(node.port, `svc.${Z}`, 1))[0], '192.0.2.10');
    const down = await node.api('PUT', '/v1/overrides/region/us-east', { state: 'down', reason: 'workers test' });
    assert.equal(down.status, 200, down.text);
    t.diagnostic(`override in every worker after ${await everyWorkerAnswers(node.port, metricsPort, `svc.${Z}`, '198.51.100.10')} ms`);
  });
});

describe('serve --workers 2, YAML only: signals and a killed worker', () => {
  let node: RunningServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    node = await startMeridian({
      zones: [{ origin: Z, text: zone('192.0.2.80') }],
      command: serveWith('2'),
      extra: { metrics: { listen: `127.0.0.1:${metricsPort}` } },
    });
    assert.match(node.output(), reusePortAvailable() ? /"sharing":"reuseport"/ : /"sharing":"cluster"/);
  });
  after(async () => {
    await node?.stop();
  });

  test('SIGHUP: a good file reaches every worker, a bad one is rejected once and changes nothing', async () => {
    writeFileSync(path.join(node.dir, `${Z}.zone`), zone('192.0.2.82'));
    process.kill(node.pid, 'SIGHUP');
    await everyWorkerAnswers(node.port, metricsPort, `www.${Z}`, '192.0.2.82');
    const good = readFileSync(node.configPath, 'utf8');
    writeFileSync(node.configPath, good.replace('dns:', 'dns:\n  udpSize: 99'));
    process.kill(node.pid, 'SIGHUP');
    await until(() => node.output().includes('reload rejected'), 10_000, 'the rejection');
    await everyWorkerAnswers(node.port, metricsPort, `www.${Z}`, '192.0.2.82');
    assert.equal(node.output().split('reload rejected').length - 1, 1, 'judged once, by the primary');
    assert.doesNotMatch(node.output(), /worker: reload rejected/);
  });

  test('kill -9 of a worker: the other answers, nothing is lost beyond the queries in flight, it comes back', async (t) => {
    // The bad file of the test above is still on disk: the new worker must run the config in force.
    const [victim, other] = workerPids(node.pid);
    assert.ok(victim && other, 'two workers');
    await answers(node.port, `www.${Z}`, 20);
    const before = samples(await scrape(metricsPort), 'meridian_dns_queries_total').get('{transport="udp"}')!;
    let stop = false;
    let sent = 0;
    let answered = 0;
    const LOOPS = 4;
    const loops = Array.from({ length: LOOPS }, async () => {
      while (!stop) {
        sent++;
        if (await udpExchange(node.port, query(`www.${Z}`, 'A'), { timeoutMs: 1000 })) answered++;
      }
    });
    try {
      await until(() => answered >= 40, 10_000, 'queries before the kill');
      process.kill(victim, 'SIGKILL');
      await until(() => workerPids(node.pid).length === 2 && !workerPids(node.pid).includes(victim), 15_000, 'the worker restarted');
      await until(async () => samples(await scrape(metricsPort), 'meridian_node_workers').get('') === 2, 15_000, 'two workers answering');
      const mark = answered;
      await until(() => answered >= mark + 40, 10_000, 'queries after the restart');
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    t.diagnostic(`lost ${sent - answered} of ${sent} queries`);
    assert.ok(sent - answered <= LOOPS, `lost ${sent - answered} of ${sent} (at most one in flight per client)`);
    const text = await scrape(metricsPort);
    assert.equal(samples(text, 'meridian_node_worker_restarts_total').get(''), 1);
    assert.ok(samples(text, 'meridian_dns_queries_total').get('{transport="udp"}')! >= before + 80, 'the summed counter never goes back');
    assert.ok(alive(other), 'the other worker kept running');
    // Both workers answer, the new one with the config in force (not the bad file on disk).
    await everyWorkerAnswers(node.port, metricsPort, `www.${Z}`, '192.0.2.82');
  });

  test('SIGTERM: every worker stops and the node exits 0', async () => {
    const pids = workerPids(node.pid);
    assert.equal(pids.length, 2);
    await node.stop();
    assert.deepEqual(await node.exited, { code: 0, signal: null });
    await until(() => pids.every((p) => !alive(p)), 5_000, 'no worker left');
  });
});

test('a bad --workers or MERIDIAN_WORKERS is a usage error with its code', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'serve', ...args], { encoding: 'utf8', timeout: 60_000, cwd: REPO_ROOT, env: { ...process.env, ...env } });
  const flag = run(['--workers', '0']);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /MERIDIAN_ERR_USAGE: option '--workers <n>' argument '0' is invalid\. expected auto or a whole number from 1 to 256/);
  const env = run([], { MERIDIAN_WORKERS: 'many' });
  assert.equal(env.status, 2);
  assert.match(env.stderr, /MERIDIAN_ERR_USAGE: option '--workers <n>' value 'many' from env 'MERIDIAN_WORKERS' is invalid/);
});
