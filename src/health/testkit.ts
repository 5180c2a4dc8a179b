/**
 * Shared test helpers for the health plane (not a test file): observations and views, waiting for
 * a bus event or a snapshot condition, and a logger that records lines.
 */
import type { Logger } from '../obs/log.js';
import type { HealthView } from './aggregate.js';
import type { HealthSource } from './source.js';
import type { BusEvent, EndpointObservation, HealthBus, VantageView } from './types.js';

export function obs(status: 'up' | 'down', at: number, extra: Partial<EndpointObservation> = {}): EndpointObservation {
  return { status, since: at, checkedAt: at, rttMs: status === 'up' ? 4.5 : null, error: status === 'up' ? null : 'ECONNREFUSED', ...extra };
}

export function makeView(vantage: string, at: number, endpoints: Record<string, EndpointObservation>, region: string | null = 'eu'): VantageView {
  return { vantage, region, heartbeatAt: at, endpoints: new Map(Object.entries(endpoints)) };
}

/** Resolves with the first event matching `pred` (rejects after `timeoutMs`). */
export function nextEvent(bus: HealthBus, pred: (e: BusEvent) => boolean, timeoutMs = 2_000): Promise<BusEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching bus event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = bus.subscribe((e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Resolves when `pred(source.current)` holds (checked now and after each swap). */
export function until(source: HealthSource, pred: (h: HealthView) => boolean, timeoutMs = 2_000): Promise<void> {
  if (pred(source.current)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`condition not reached within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = source.onSwap((h) => {
      if (!pred(h)) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** A pino-shaped logger that keeps `{ level, msg }` per call. */
export function captureLog(): { log: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (a: unknown, b?: unknown): void => {
      lines.push({ level, msg: typeof a === 'string' ? a : String(b) });
    };
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}
