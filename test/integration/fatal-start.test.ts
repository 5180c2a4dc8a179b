/**
 * Issue 14, defect 1: "a start failure that is truly fatal exits non-zero within 10 s, so
 * `Restart=on-failure` works", for every long-running role and with Redis unreachable (the case
 * where a node used to hang: its Redis client's reconnect timer kept the process alive). Each case
 * is a real `meridian serve|probe|forward` process whose start cannot succeed: a port it must bind
 * is taken, or its local copy of the config is damaged. Checked: it exits by itself, non-zero,
 * within 10 s of its first log line (starting the TypeScript runtime is not the role's start), and
 * says why. A SIGHUP sent while `serve` starts is applied once it runs, as `probe` and `forward`
 * do, instead of killing it (SIGHUP's default action).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { SERVICE } from '../helpers/cluster.js';
import { freePort } from '../helpers/dnsproc.js';
import { clusterYaml, deferrer, portOf, spawnRole, type LogLine, type RoleProcess } from '../helpers/role.js';

/** The requirement: a supervisor sees the exit this soon. */
const EXIT_WITHIN_MS = 10_000;

/** Redis that nobody answers: a loopback port with nothing listening. */
const unreachableRedis = async (): Promise<string> => `redis://127.0.0.1:${await freePort()}`;

async function takeTcp(t: TestContext): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  deferrer(t)(() => s.close());
  return s;
}

async function takeUdp(t: TestContext): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  deferrer(t)(() => socket.close());
  return { socket, port: socket.address().port };
}

/**
 * Runs the role to its exit (or kills it after a minute: it hung) and checks the exit: non-zero,
 * within EXIT_WITHIN_MS of its first log line, its output matching `why`.
 */
async function assertFatal(t: TestContext, args: string[], why: RegExp): Promise<void> {
  const spawnedAt = Date.now();
  const role = spawnRole(args);
  deferrer(t)(() => role.stop());
  const hung = setTimeout(() => role.proc.kill('SIGKILL'), 60_000);
  const exit = await role.exited;
  const exitedAt = Date.now();
  clearTimeout(hung);
  const output = `${role.lines.map((l) => JSON.stringify(l)).join('\n')}\n${role.text()}`;
  assert.equal(exit.signal, null, `it exited by itself (it hung until killed); output:\n${output}`);
  assert.notEqual(exit.code, 0, `a failed start exits non-zero; output:\n${output}`);
  // pino's `time` (ISO text in Meridian's logs); the spawn when the role logged nothing.
  const firstLineAt = role.lines.length ? new Date(role.lines[0]!.time as string | number).getTime() : spawnedAt;
  assert.ok(exitedAt - firstLineAt < EXIT_WITHIN_MS, `exited ${exitedAt - firstLineAt} ms after its first log line; output:\n${output}`);
  assert.match(output, why);
}

describe('a truly fatal start exits non-zero within 10 s, with Redis unreachable', { concurrency: true, timeout: 180_000 }, () => {
  test('serve: its DNS port is taken', async (t) => {
    const { port } = await takeUdp(t);
    const { file } = await clusterYaml(t, await unreachableRedis(), { dns: { listen: [`127.0.0.1:${port}`] } });
    await assertFatal(t, ['serve', '--config', file], /EADDRINUSE/);
  });

  test('serve: its metrics port is taken', async (t) => {
    const busy = await takeTcp(t);
    const { file } = await clusterYaml(t, await unreachableRedis(), { metrics: { listen: `127.0.0.1:${portOf(busy)}` } });
    await assertFatal(t, ['serve', '--config', file], /EADDRINUSE/);
  });

  test('serve: its local copy of the config is damaged (it must not boot on half a config)', async (t) => {
    const { dir, file } = await clusterYaml(t, await unreachableRedis());
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'local-copy.json'), '{"version": 3, "document": {');
    await assertFatal(t, ['serve', '--config', file], /local-copy\.json/);
  });

  test('probe: its metrics port is taken', async (t) => {
    const busy = await takeTcp(t);
    const { file } = await clusterYaml(t, await unreachableRedis());
    await assertFatal(t, ['probe', '--region', 'us-east', '--metrics', `127.0.0.1:${portOf(busy)}`, '--config', file], /EADDRINUSE/);
  });

  test('forward: its listener port is taken', async (t) => {
    const busy = await takeTcp(t);
    const redisUrl = await unreachableRedis();
    const { file } = await clusterYaml(t, redisUrl, { forward: { listeners: [{ name: 'web', service: SERVICE, listen: `127.0.0.1:${portOf(busy)}` }] } });
    await assertFatal(t, ['forward', '--region', 'us-east', '--config', file], /EADDRINUSE/);
  });
});

describe('serve and SIGHUP while it starts', { timeout: 120_000 }, () => {
  test('a SIGHUP that arrives before the node is ready is applied once it runs; it does not kill the node', async (t) => {
    // Redis unreachable: the start waits for the store (bootWaitMs) and logs that before it opens
    // its listeners and admin API, so the signal lands while the node is still starting.
    const { file } = await clusterYaml(t, await unreachableRedis());
    const node: RoleProcess = spawnRole(['serve', '--config', file]);
    deferrer(t)(() => node.stop());
    await node.line((l: LogLine) => /config store unreachable/.test(String(l.msg)), 60_000, 'the start waiting for the store');
    assert.ok(node.running(), 'still starting');
    node.proc.kill('SIGHUP');
    await node.line((l) => l.msg === 'ready', 60_000, 'ready');
    await node.line((l) => l.msg === 'reloaded', 15_000, 'the SIGHUP applied once the node runs');
    assert.ok(node.running(), 'the node runs');
  });
});
