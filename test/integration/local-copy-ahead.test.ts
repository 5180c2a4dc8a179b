/**
 * Regression (issue 14, defect 1, found by the e2e drill 9): a DNS node wrote a config version to its
 * local copy only after it had applied it, so a node killed in between restarted (Redis unreachable)
 * from an older copy than the version it had been answering from. The copy is now written before the
 * version is applied. Checked on a real `meridian serve` and a real redis-server: the node is frozen
 * (SIGSTOP) the moment it logs a version as applied, and its copy on disk must already hold that
 * version; several versions in a row, each through the admin API.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ADMIN_SECRET, SERVICE, usEast } from '../helpers/cluster.js';
import { redisSkipReason, startRedis } from '../helpers/redis.js';
import { dig, freePort } from '../helpers/dnsproc.js';
import { clusterYaml, deferrer, spawnRole } from '../helpers/role.js';

const ROUNDS = 6;

describe('a DNS node writes a version to its local copy before it applies it', { skip: redisSkipReason(), timeout: 180_000 }, () => {
  test('frozen the moment it logs a version as applied, its copy on disk holds that version', async (t) => {
    const defer = deferrer(t);
    const redis = await startRedis();
    defer(() => redis.stop());
    const { dir, file, adminPort } = await clusterYaml(t, redis.url);
    const node = spawnRole(['serve', '--config', file]);
    defer(() => node.stop());
    await node.line((l) => l.msg === 'ready', 60_000, 'ready');
    const pid = node.proc.pid!;
    defer(() => process.kill(pid, 'SIGCONT'));

    // Watches the raw output, so the process is stopped at once, before anything it does next.
    let lastApplied = 0;
    let onFreeze: ((version: number) => void) | null = null;
    let partial = '';
    node.proc.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.includes('"msg":"config version applied"')) continue;
        const version = (JSON.parse(line) as { version: number }).version;
        if (version <= lastApplied || !onFreeze) continue;
        process.kill(pid, 'SIGSTOP');
        lastApplied = version;
        onFreeze(version);
      }
    });
    const copied = (): number => (JSON.parse(readFileSync(join(dir, 'data', 'local-copy.json'), 'utf8')) as { record: { version: number } }).record.version;

    for (let i = 1; i <= ROUNDS; i++) {
      const frozen = new Promise<number>((resolve) => (onFreeze = resolve));
      const put = fetch(`http://127.0.0.1:${adminPort}/v1/regions/us-east?reason=ahead`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify(usEast(`192.0.2.${100 + i}`)),
      });
      const version = await frozen;
      onFreeze = null;
      const onDisk = copied();
      process.kill(pid, 'SIGCONT');
      assert.ok(onDisk >= version, `round ${i}: the node applied version ${version} while its copy on disk held version ${onDisk}`);
      const res = await put;
      assert.equal(res.status, 200, await res.text());
    }
  });
});

describe('a local copy this node cannot compile', { timeout: 120_000 }, () => {
  test('with Redis unreachable, the node answers from the YAML instead of from nothing', async (t) => {
    const dnsPort = await freePort();
    const { dir, file } = await clusterYaml(t, `redis://127.0.0.1:${await freePort()}`, { dns: { listen: [`127.0.0.1:${dnsPort}`] } });
    // Well-formed, but its service names a region that does not exist: it does not compile.
    const record = {
      version: 7,
      author: 'ops',
      time: new Date().toISOString(),
      reason: 'r',
      action: 'update',
      target: 'config',
      diff: [],
      document: { zones: [], regions: [], services: [{ name: SERVICE, regions: ['nowhere'], policy: { failover: ['nowhere'] } }] },
    };
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'local-copy.json'), JSON.stringify({ format: 2, record, tokens: [], audit: [], overrides: [] }));
    const node = spawnRole(['serve', '--config', file]);
    deferrer(t)(() => node.stop());
    await node.line((l) => l.msg === 'ready', 60_000, 'ready');
    await node.line((l) => /local copy does not compile/.test(String(l.msg)), 1_000, 'the fallback logged');
    const answer = (await dig(['@127.0.0.1', '-p', String(dnsPort), SERVICE, 'A', '+short', '+tries=1', '+time=2'])).trim();
    assert.equal(answer, '192.0.2.10', "the YAML's us-east address");
  });
});
