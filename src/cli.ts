#!/usr/bin/env node
/**
 * `meridian <command>`: one program, one role per subcommand (shared/design/architecture.md), and
 * the operator's daily commands. The commands are declared in src/commands/program.ts.
 * @module
 */
import { formatRedisProblem, RedisConfigError } from './redis/config.js';
import { runCli } from './commands/program.js';

/**
 * Once a subcommand is done the process exits, whatever is still open: a role that failed to start
 * has closed its resources (src/lifecycle/stack.ts), but a client library's reconnect timer must
 * never keep a failed process alive where a supervisor waits for it to exit (Restart=on-failure).
 */
function exit(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

/**
 * Writes to stdout/stderr are synchronous here (pino's default destination, and pipes and files on
 * Linux), so nothing is lost by exiting soon; a failed start reaches its supervisor sooner (it
 * was 2 s, a fifth of the 10 s issue 14 allows a fatal start, spent on a client's reconnect timer).
 */
const EXIT_GRACE_MS = 250;

runCli(process.argv.slice(2)).then(exit, (err: unknown) => {
  // Settings the environment makes invalid (REDIS_URL, credentials): the problem, not a stack.
  if (err instanceof RedisConfigError) for (const p of err.problems) process.stderr.write(formatRedisProblem(p) + '\n');
  else process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  exit(1);
});
