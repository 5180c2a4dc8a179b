/**
 * MERIDIAN_LOG_LEVEL and MERIDIAN_LOG_FORMAT checked before a logger is made: pino throws on a level it does not know
 * (a stack trace from every role), so the command line reports it as a usage problem instead.
 * @module
 */

/** pino's levels, most to least verbose, and `silent`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The forms of a log line (log.ts): JSON lines, or readable ones for a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** The problem with `value` as MERIDIAN_LOG_FORMAT, or null when it is one (or unset). */
export function logFormatProblem(value: string | undefined): string | null {
  if (value === undefined || (LOG_FORMATS as readonly string[]).includes(value)) return null;
  return `MERIDIAN_LOG_FORMAT is ${JSON.stringify(value)}: expected ${LOG_FORMATS.join(' or ')}`;
}

/** The problem with `value` as a log level, or null when it is one (or unset). */
export function logLevelProblem(value: string | undefined): string | null {
  if (value === undefined || (LOG_LEVELS as readonly string[]).includes(value)) return null;
  return `MERIDIAN_LOG_LEVEL is ${JSON.stringify(value)}: expected one of ${LOG_LEVELS.join(', ')}`;
}
