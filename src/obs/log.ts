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

/** The format asked for, else the terminal's; an unknown value is reported (`problem`) and ignored. */
export function logFormat(env: NodeJS.ProcessEnv = process.env, stdout: { isTTY?: boolean } = process.stdout): { format: LogFormat; problem?: string } {
  const asked = env.MERIDIAN_LOG_FORMAT;
  const auto: LogFormat = stdout.isTTY === true ? 'pretty' : 'json';
  if (asked === undefined || asked === '') return { format: auto };
  if (asked === 'json' || asked === 'pretty') return { format: asked };
  return { format: auto, problem: `MERIDIAN_LOG_FORMAT must be json or pretty (got ${JSON.stringify(asked)}); using ${auto}` };
}

export function createLogger(level = process.env.MERIDIAN_LOG_LEVEL ?? 'info'): Logger {
  const { format, problem } = logFormat();
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  // Synchronous like pino's default destination, so a fatal line is out before process.exit.
  const log = format === 'json' ? pino(options) : pino(options, prettyStream(destination({ dest: 1, sync: true }), colourOn()));
  if (problem) log.warn({ code: 'MERIDIAN_ERR_LOG_FORMAT' }, problem);
  return log;
}
