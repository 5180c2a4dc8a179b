/**
 * Why an endpoint is down, in the node's log (issue 18): a real `meridian serve` (embedded probes)
 * checking two real TCP endpoints of one region; each stops accepting in turn and the node logs, at
 * info, each endpoint's flip (the first while the region still answers from the other, when its
 * answers do not change) and then the region's, with the reason and each vantage's vote and error.
 * An endpoint added to the running node (here by SIGHUP; the admin API's writes take the same path)
 * that is down from its first checks is logged too (a fresh-eyes review found it silent).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/dnsproc.js';
import { acceptor, deferrer, portOf, spawnRole, usEastWith } from '../helpers/role.js';
import { allowLoopback } from '../helpers/targets.js';

test('each endpoint that stops accepting, one while its region still answers from the other: every flip and the region flip are logged at info with the reason and the votes', async (t) => {
  const defer = deferrer(t);
  const web = await acceptor();
  defer(() => web.close());
  const web2 = await acceptor();
  defer(() => web2.close());
  const dir = mkdtempSync(join(tmpdir(), 'meridian-flips-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'meridian.yaml');
  const zone = new URL('../fixtures/gslb.example.com.zone', import.meta.url).pathname;
  const dnsPort = await freePort();
  const config = (endpoints: { id: string; port: number }[]): string =>
    JSON.stringify(
      allowLoopback({
        dns: { listen: [`127.0.0.1:${dnsPort}`] },
        zones: [{ origin: 'gslb.example.com', file: zone }],
        health: { probe: { intervalMs: 200, timeoutMs: 150 }, overridesFile: join(dir, 'overrides.json') },
        regions: [usEastWith(endpoints)],
      }),
    );
  const both = [
    { id: 'web-1', port: portOf(web) },
    { id: 'web-2', port: portOf(web2) },
  ];
  writeFileSync(file, config(both));
  const node = spawnRole(['serve', '--config', file]);
  defer(() => node.stop());
  await node.line((l) => l.msg === 'ready', 60_000, 'serve ready');
  // One of two endpoints: the region still answers (from web-2), and the flip is logged all the same.
  web.close();
  const down = await node.line((l) => l.msg === 'endpoint us-east/web-1 is down', 15_000, 'the down flip logged');
  assert.equal(down.level, 30, 'info');
  assert.equal(down.from, 'up');
  assert.equal(down.reason, '1 of 1 live vantages see it down');
  assert.deepEqual(down.votes, { embedded: 'down (ECONNREFUSED)' });
  assert.ok(!node.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('region us-east is')), 'the region did not flip');
  web2.close();
  await node.line((l) => l.msg === 'endpoint us-east/web-2 is down', 15_000, 'the second flip logged');
  const region = await node.line((l) => l.msg === 'region us-east is down', 5_000, 'the region flip logged');
  assert.equal(region.level, 30);
  assert.equal(region.reason, '0 of 2 endpoints up');
  // A new endpoint that nothing listens on: down from its first checks, and said so.
  writeFileSync(file, config([...both, { id: 'web-3', port: await freePort() }]));
  node.proc.kill('SIGHUP');
  const added = await node.line((l) => l.msg === 'endpoint us-east/web-3 is down', 15_000, 'the new endpoint, down from its first checks, logged');
  assert.equal(added.level, 30, 'info');
  assert.equal(added.from, 'new');
  assert.equal(added.reason, '1 of 1 live vantages see it down');
  assert.deepEqual(added.votes, { embedded: 'down (ECONNREFUSED)' });
});
