/**
 * Test helper: the real `meridian` program as an operator runs it, one process per command
 * (`node dist/cli.js ...`, or the sources under tsx when dist/ is stale: test/helpers/meridian-bin.ts),
 * with its exit code and output. MERIDIAN_TOKEN and
 * MERIDIAN_API are not inherited from the test's environment (a developer's shell may set them);
 * pass them in `env`. `serve` runs one DNS worker unless MERIDIAN_WORKERS says otherwise, as in
 * test/helpers/dnsproc.ts.
 *
 * ```ts
 * const r = await cli(['region', 'list', '--config', node.configPath]);
 * assert.equal(r.status, 0, r.stderr);
 * ```
 * @module
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { meridianCommand, REPO_ROOT } from './meridian-bin.js';

export interface CliRun {
  /** The exit code (1 when the process was killed, e.g. by the timeout). */
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Default 90 s: a loaded 2-core machine has taken tens of seconds to start a command. */
  timeoutMs?: number;
  /** Run under this argv prefix (e.g. `script` for a terminal, `setpriv` for dropped capabilities). */
  wrap?: (argv: string[]) => string[];
}

export function cli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  const { MERIDIAN_TOKEN: _token, MERIDIAN_API: _api, ...base } = process.env;
  const argv = meridianCommand(...args);
  const [file, ...rest] = opts.wrap ? opts.wrap(argv) : argv;
  return new Promise((resolve) => {
    const child = execFile(
      file!,
      rest,
      {
        encoding: 'utf8',
        cwd: opts.cwd ?? REPO_ROOT,
        env: { ...base, MERIDIAN_WORKERS: process.env.MERIDIAN_WORKERS ?? '1', ...opts.env },
        timeout: opts.timeoutMs ?? 90_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ status: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Asserts the command exited 0 (its output is the failure message) and returns its run. */
export function expectOk(r: CliRun): CliRun {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}
