/**
 * YAML bombs in the config (fresh-eyes review of issue 16): 50,000 nested brackets, 50,000 nested
 * block sequences on one line, and an alias bomb ("billion laughs": nine levels of nine aliases,
 * 10^9 strings expanded). They gave "Maximum call stack size exceeded" (uncoded, after seconds) or
 * a stack trace. Now each is one coded problem at its file:line, no stack, from `meridian check`,
 * from `serve` at start (exit 1), and on SIGHUP (rejected, the running config keeps answering).
 * Memory stays bounded: the processes run with a 160 MiB heap, which an expansion would blow.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { query, udpExchange } from '../helpers/client.js';
import { startMeridian } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'bomb.test';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n`;
const HEAD = `dns:\n  listen: ["127.0.0.1:0"]\nzones:\n  - { origin: ${Z}, file: zone }\n`;
const laughs = (): string => {
  const lines = [`a: &a [${Array(9).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < 9; i++)
    lines.push(
      `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9)
        .fill(`*${'abcdefghi'[i - 1]}`)
        .join(', ')}]`,
    );
  return lines.join('\n') + '\n';
};
/** Each bomb (below HEAD), the line the problem is reported at, and the problem. */
const BOMBS: Record<string, { text: string; line: number; reason: RegExp }> = {
  brackets: { text: `x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`, line: 5, reason: /MERIDIAN_ERR_TOO_DEEP: the YAML nests collections more than 32 levels deep/ },
  dashes: { text: `x:\n  ${'- '.repeat(50_000)}z\n`, line: 6, reason: /MERIDIAN_ERR_TOO_DEEP: the YAML nests collections more than 32 levels deep/ },
  laughs: { text: laughs(), line: 6, reason: /MERIDIAN_ERR_INVALID_CONFIG: the YAML's aliases expand past 100 \(maxAliasCount\)/ },
};
const ENV = { ...process.env, NODE_OPTIONS: '--max-old-space-size=160', MERIDIAN_LOG_LEVEL: 'info' };

describe('YAML bombs in the config', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-yaml-bombs-'));
    writeFileSync(join(dir, 'zone'), ZONE);
    for (const [name, bomb] of Object.entries(BOMBS)) writeFileSync(join(dir, `${name}.yaml`), HEAD + bomb.text);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, bomb] of Object.entries(BOMBS)) {
    for (const cmd of ['check', 'serve']) {
      test(`${name}: meridian ${cmd} refuses it with one coded problem at its line, no stack, exit 1`, () => {
        const file = join(dir, `${name}.yaml`);
        const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, cmd, '--config', file], { encoding: 'utf8', timeout: 60_000, env: ENV });
        assert.equal(r.status, 1, r.stdout + r.stderr);
        const problems = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
        assert.equal(problems.length, 1, r.stderr);
        assert.ok(problems[0]!.startsWith(`${file}:${bomb.line}: `), problems[0]);
        assert.match(problems[0]!, bomb.reason);
        assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m, 'no stack trace');
        assert.doesNotMatch(r.stdout + r.stderr, /Maximum call stack|heap out of memory/);
        if (cmd === 'check') assert.match(r.stdout, /^1 problem\(s\)$/m);
        else assert.doesNotMatch(r.stdout, /"msg":"ready"/);
      });
    }
  }
});

describe('SIGHUP with a YAML bomb', () => {
  test('each is rejected with its coded problem; the node keeps answering', async () => {
    const srv = await startMeridian({ zones: [{ origin: Z, text: ZONE }], env: ENV });
    try {
      const good = readFileSync(srv.configPath, 'utf8');
      for (const [name, bomb] of Object.entries(BOMBS)) {
        const seen = (srv.output().match(/reload rejected/g) ?? []).length;
        writeFileSync(srv.configPath, good + bomb.text);
        process.kill(srv.pid, 'SIGHUP');
        const deadline = Date.now() + 20_000;
        while ((srv.output().match(/reload rejected/g) ?? []).length === seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const rejected = srv
          .output()
          .split('\n')
          .filter((l) => l.includes('reload rejected'))[seen];
        assert.ok(rejected, `${name}: reload rejected\n${srv.output().slice(-2000)}`);
        assert.match(rejected, bomb.reason, name);
        const reply = await udpExchange(srv.port, query(`www.${Z}`, 'A'));
        assert.ok(reply, `${name}: still answering`);
        assert.equal(reply.readUInt16BE(2) & 0xf, 0);
      }
      assert.doesNotMatch(srv.output(), /^\s+at |Maximum call stack/m);
    } finally {
      await srv.stop();
    }
  });
});
