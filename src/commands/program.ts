/**
 * The `meridian` program: every command, declared with commander (src/commands/README.md). A bad
 * command line (unknown option, missing or bad value, unknown command) prints one coded line and the
 * command's usage on stderr and exits 2; `--help` of any command prints its options, defaults and
 * examples; `--version` prints the version.
 * @module
 */
import { Command, CommanderError, Help } from 'commander';
import { VERSION } from '../version.js';
import { logFormatProblem, logLevelProblem } from '../obs/log-level.js';
import { registerApply } from './apply.js';
import { registerAudit } from './audit.js';
import { registerCheck } from './check.js';
import { registerEndpoint } from './endpoint.js';
import { EXIT_USAGE, exitCodeOf, pathOf, subcommand } from './define.js';
import { registerExplain } from './explain.js';
import { registerForward } from './forward.js';
import { registerOverride } from './override.js';
import { registerProbe } from './probe.js';
import { registerRegion } from './region.js';
import { registerServe } from './serve.js';
import { registerStatus } from './status.js';
import { registerToken } from './token.js';
import { registerVersions } from './versions.js';

/** Where commander writes help and usage errors (the process's stdout and stderr, or a test's buffers). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const PROCESS_OUTPUT: Output = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

const NOTES = `
Commands that talk to a node's admin API take --api URL (default: admin.listen of --config, else
http://127.0.0.1:8053) and a token from MERIDIAN_TOKEN or --token-file FILE (on the node's host, the
bootstrap token file of its data directory); they print tables, or the API's JSON with --json.
Exit codes: 0 done, 1 failed (config problems, API errors with their MERIDIAN_ERR_* code, an
unreachable node), 2 a bad command line.`;

export function buildProgram(output: Output = PROCESS_OUTPUT): Command {
  const program = new Command('meridian')
    .description(`Meridian ${VERSION}: global DNS traffic manager (authoritative GSLB DNS with geo, capacity and health-aware answers)`)
    .version(VERSION, '-V, --version', 'print the version')
    // The program's options only before a command, so a command may have its own --version (export).
    .enablePositionalOptions()
    .addHelpText('after', NOTES);
  program.commandsGroup('Run a role:');
  registerServe(program);
  registerProbe(program);
  registerForward(program);
  program.commandsGroup('Daily operations (through a node’s admin API):');
  registerStatus(program);
  registerRegion(program);
  registerEndpoint(program);
  registerOverride(program);
  registerVersions(program);
  registerAudit(program);
  registerApply(program);
  program.commandsGroup('Config and tools:');
  registerCheck(program);
  registerExplain(program);
  registerToken(program);
  subcommand(program, { name: 'version', summary: 'print the version', examples: ['meridian version'] }).action(() => void output.out(VERSION + '\n'));
  program.helpCommand('help [command]', 'help for a command');
  for (const cmd of commandsOf(program)) settle(cmd, output);
  program.hook('preAction', (_root, cmd) => checkEnvironment(cmd));
  return program;
}

/** The program and every command under it, depth first. */
export function commandsOf(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(commandsOf)];
}

/** What every command shares: no process.exit from commander, coded usage errors followed by the usage. */
function settle(cmd: Command, output: Output): void {
  const name = pathOf(cmd);
  const full = cmd.parent ? `meridian ${name}` : 'meridian';
  cmd
    .exitOverride()
    .configureOutput({
      writeOut: output.out,
      writeErr: output.err,
      // commander's own messages start "error: "; a UsageError's already carry their code.
      outputError: (text, write) => write(`${name}: ${text.startsWith('error: ') ? `MERIDIAN_ERR_USAGE: ${text.slice('error: '.length)}` : text}`),
    })
    .showHelpAfterError(`Usage: ${new Help().commandUsage(cmd)}\nRun "${full} --help" for options and examples.`);
}

/**
 * Environment settings every command reads through the logger: a bad one is a usage problem of
 * the command run (one coded line, its usage, exit 2), as a bad MERIDIAN_WORKERS is. An empty
 * MERIDIAN_LOG_LEVEL= or MERIDIAN_LOG_FORMAT= (an env file's blank line) is unset.
 */
function checkEnvironment(cmd: Command): void {
  for (const name of ['MERIDIAN_LOG_LEVEL', 'MERIDIAN_LOG_FORMAT']) if (process.env[name] === '') delete process.env[name];
  const problem = logLevelProblem(process.env.MERIDIAN_LOG_LEVEL) ?? logFormatProblem(process.env.MERIDIAN_LOG_FORMAT);
  if (problem) cmd.error(`MERIDIAN_ERR_USAGE: ${problem}`, { exitCode: EXIT_USAGE, code: 'meridian.usage' });
}

/** Runs one command line (without `node cli.js`); resolves with the exit code. */
export async function runCli(argv: string[], output: Output = PROCESS_OUTPUT): Promise<number> {
  const program = buildProgram(output);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : EXIT_USAGE;
  }
  return exitCodeOf(program);
}
