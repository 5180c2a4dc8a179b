/**
 * Every command of `meridian` has help and refuses a bad command line the same way (issue 18):
 * `--help` prints the usage, options (with defaults) and examples and exits 0; an unknown option is
 * one coded line (`<command>: MERIDIAN_ERR_USAGE: …`), the command's usage, exit 2, no stack trace.
 *
 * Data-driven over the program's own command list (src/commands/program.ts), so a command added
 * without a summary, examples or option descriptions fails here. Each command line runs through
 * `runCli`, the function src/cli.ts runs, with its output captured (a process per command for ~25
 * commands would take minutes on CI); a few run as real processes too, for the exit codes and
 * streams a shell sees.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildProgram, commandsOf, runCli } from '../../src/commands/program.js';
import { examplesOf, pathOf } from '../../src/commands/define.js';
import { VERSION } from '../../src/version.js';
import { cli } from '../helpers/cli.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

const program = buildProgram();
// Every command but the program itself and commander's `help` command.
const commands = commandsOf(program).filter((c) => c.parent && c.name() !== 'help');

describe('every meridian command: --help and a bad option', () => {
  test('the command list is the one the issue asks for', () => {
    const names = commands.map(pathOf);
    for (const want of ['serve', 'check', 'explain', 'probe', 'forward', 'override set', 'token new', 'version']) assert.ok(names.includes(want), `${want} in ${names.join(', ')}`);
  });

  for (const cmd of commands) {
    const path = pathOf(cmd);
    test(`${path} --help: usage, options with descriptions, examples; exit 0`, async () => {
      const r = await run([...path.split(' '), '--help']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      assert.match(r.out, new RegExp(`^Usage: meridian ${path}\\b`));
      assert.ok(cmd.summary(), `${path}: a summary`);
      assert.match(r.out, /\nOptions:\n/);
      const flat = r.out.replace(/\s+/g, ' ');
      for (const o of cmd.options) {
        assert.ok(o.description, `${path} ${o.flags}: a description`);
        assert.ok(r.out.includes(o.long ?? o.flags), `${path} --help lists ${o.flags}`);
        if (o.defaultValue !== undefined) assert.ok(flat.includes(`(default: ${JSON.stringify(o.defaultValue)})`), `${path} --help shows the default of ${o.flags}`);
      }
      const examples = examplesOf(cmd);
      assert.ok(examples.length > 0, `${path}: examples`);
      assert.match(r.out, /\nExamples:\n/);
      for (const e of examples) {
        assert.ok(e.includes(`meridian ${path}`), `${path}: example "${e}" runs this command`);
        assert.ok(r.out.includes(`  $ ${e}`), `${path} --help shows "${e}"`);
      }
    });

    test(`${path} --no-such-option: coded line, usage, exit 2`, async () => {
      const r = await run([...path.split(' '), '--no-such-option']);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.out, '');
      const lines = r.err.trimEnd().split('\n');
      assert.match(lines[0]!, new RegExp(`^${path}: MERIDIAN_ERR_USAGE: `));
      assert.ok(
        lines.some((l) => l.startsWith(`Usage: meridian ${path} `)),
        r.err,
      );
      assert.ok(lines.includes(`Run "meridian ${path} --help" for options and examples.`), r.err);
      assert.doesNotMatch(r.err, /\n\s+at /);
    });
  }

  test('a missing option value and a bad one are usage errors too', async () => {
    const missing = await run(['explain', 'www.example.com', '192.0.2.1', '--ecs']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^explain: MERIDIAN_ERR_USAGE: option '--ecs <prefix>' argument missing\n/);
    const bad = await run(['explain', 'www.example.com', '192.0.2.1', '--type', 'MX']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^explain: MERIDIAN_ERR_USAGE: option '--type <qtype>' argument 'MX' is invalid\. Allowed choices are A, AAAA\./);
  });
});

describe('the real program', () => {
  test('--version and version print the version; no command prints the help and exits 2', async () => {
    const [flag, word, none] = await Promise.all([cli(['--version']), cli(['version']), cli([])]);
    assert.deepEqual([flag.status, flag.stdout], [0, `${VERSION}\n`]);
    assert.deepEqual([word.status, word.stdout], [0, `${VERSION}\n`]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^Usage: meridian \[options\] \[command\]/);
  });

  test('explain --help on stdout, exit 0; a bad option on stderr, exit 2, no stack', async () => {
    const [help, bad] = await Promise.all([cli(['explain', '--help']), cli(['serve', '--config'])]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: meridian explain \[options\] <name> <client-ip>/);
    assert.match(help.stdout, /--offline/);
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^serve: MERIDIAN_ERR_USAGE: option '-c, --config <file>' argument missing\nUsage: meridian serve \[options\]\n/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
