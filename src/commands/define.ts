/**
 * How every `meridian` command is declared (commander): a summary, examples in `--help`, an action
 * that returns the exit code, and usage problems that print the command's usage and exit 2.
 * Only commander and node built-ins are imported here, so declaring every command costs nothing;
 * each command loads what it runs when it runs.
 * @module
 */
import { Command, InvalidArgumentError, Option } from 'commander';

/** Exit codes: 0 done, 1 failed (the work, the config, the API), 2 the command line itself. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The file `--config` defaults to, relative to the working directory (`npm start` runs there). */
export const DEFAULT_CONFIG = 'zones/meridian.yaml';

export interface CommandSpec {
  /** Name and arguments in commander's syntax: `weight <id> <weight>`. */
  name: string;
  summary: string;
  /** What `--help` says above the options; default: the summary. */
  description?: string;
  /** Complete command lines, shown under "Examples:" in `--help` (test/integration/cli-help.test.ts requires them). */
  examples: string[];
}

/** A bad command line found after parsing (a value commander cannot judge): usage, then exit 2. */
export class UsageError extends Error {
  constructor(
    readonly code: `MERIDIAN_ERR_${string}`,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A command that could not do its work (an API error, an unreachable node, a config it cannot
 * use): one coded line on stderr, exit 1. Thrown by a command; `act` prints it.
 */
export class Failure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Declares a subcommand of `parent` with its summary and examples. */
export function subcommand(parent: Command, spec: CommandSpec): Command {
  const cmd = parent
    .command(spec.name)
    .summary(spec.summary)
    .description(spec.description ?? spec.summary);
  EXAMPLES.set(cmd, spec.examples);
  return cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

const EXAMPLES = new WeakMap<Command, string[]>();
const EXIT_CODES = new WeakMap<Command, number>();

/** The examples a command was declared with (the help test checks each one's command path). */
export function examplesOf(cmd: Command): string[] {
  return EXAMPLES.get(cmd) ?? [];
}

/**
 * The command's action: `run` gets the command (its `opts()` and positional arguments) and returns
 * the exit code. A UsageError it throws is reported as commander reports its own: one coded line,
 * the usage, exit 2; a Failure is one coded line and exit 1.
 */
export function act(cmd: Command, run: (cmd: Command) => Promise<number> | number): Command {
  return cmd.action(async () => {
    let code: number;
    try {
      code = await run(cmd);
    } catch (err) {
      if (err instanceof UsageError) cmd.error(`${err.code}: ${err.message}`, { exitCode: EXIT_USAGE, code: 'meridian.usage' });
      if (!(err instanceof Failure)) throw err;
      process.stderr.write(`${pathOf(cmd)}: ${err.code}: ${err.message}\n`);
      code = EXIT_FAILED;
    }
    EXIT_CODES.set(rootOf(cmd), code);
  });
}

/** The exit code the action of a program's command returned (0 when none ran: help, version). */
export function exitCodeOf(program: Command): number {
  return EXIT_CODES.get(program) ?? 0;
}

export function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** `region weight` for that command, `meridian` for the program: the prefix of its messages. */
export function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.length ? names.join(' ') : cmd.name();
}

/** `--config FILE`, for the commands that read the config (with its default shown in `--help`). */
export function configOption(description = 'the YAML config'): Option {
  return new Option('-c, --config <file>', description).default(DEFAULT_CONFIG);
}

/** A whole number in [min, max], for commander's argParser: a bad one is a usage error naming the range. */
export function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/** One of a fixed set of words (commander's `choices`, for positional arguments). */
export function oneOf<T extends string>(...words: T[]): (text: string) => T {
  return (text) => {
    if (!(words as string[]).includes(text)) throw new InvalidArgumentError(`expected one of ${words.join(', ')}`);
    return text as T;
  };
}

/** Text matching `re` (an id, a name), for commander's argParser; `expected` says what is allowed. */
export function matching(re: RegExp, expected: string): (text: string) => string {
  return (text) => {
    if (!re.test(text)) throw new InvalidArgumentError(`expected ${expected}`);
    return text;
  };
}

/** A region id as the API accepts it (src/admin/routes/regions.ts). */
export const regionId = matching(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a region id (a-z, 0-9 and -, up to 63 characters)');

/** A config version number. */
export const versionNumber = integer(1, 1e12);
