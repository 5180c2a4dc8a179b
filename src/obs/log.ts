/**
 * The process logger (pino) and per-component children, the counterpart of CoreDNS's
 * clog.NewWithPlugin: `logger.child({ component: 'dns/udp' })`. JSON lines on stdout for services
 * (stdout is a pipe, a journal or a file); readable lines (log-format.ts) when stdout is a terminal.
 * `MERIDIAN_LOG_FORMAT=json|pretty` forces either.
 * @module
 */
import { destination, pino, type Logger } from 'pino';
import { colourOn } from './colour.js';
import { prettyStream } from './log-format.js';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * The format asked for, else the terminal's. The command line refuses another value before any
 * logger exists (src/commands/program.ts); one that gets here anyway is ignored.
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  const asked = env.MERIDIAN_LOG_FORMAT;
  if (asked === 'json' || asked === 'pretty') return asked;
  return stdout.isTTY === true ? 'pretty' : 'json';
}

export function createLogger(level = process.env.MERIDIAN_LOG_LEVEL ?? 'info'): Logger {
  const format = logFormat();
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  // Synchronous like pino's default destination, so a fatal line is out before process.exit.
  return format === 'json' ? pino(options) : pino(options, prettyStream(destination({ dest: 1, sync: true }), colourOn()));
}
