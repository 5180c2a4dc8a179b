/**
 * The process logger (pino, JSON lines on stdout) and per-component children, the counterpart of
 * CoreDNS's clog.NewWithPlugin: `logger.child({ component: 'dns/udp' })`.
 * @module
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.MERIDIAN_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
