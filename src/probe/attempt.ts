/**
 * The mechanics every check shares: one deadline, one abort signal, a verdict that settles once,
 * and I/O that is torn down on every path. tcp.ts and http.ts only describe their I/O.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { CheckResult } from './types.js';

/** Settles the check. Later calls are ignored, so every event handler may call it freely. */
export type Done = (ok: boolean, error: string | null) => void;

/**
 * Runs `start` under a deadline of `timeoutMs` and `signal`. `start` begins the I/O and returns
 * its teardown, which runs exactly once, after the verdict, whatever it is: a success destroys the
 * socket too, since connections are never reused (each check measures a fresh one).
 * Never rejects.
 */
export function attempt(timeoutMs: number, signal: AbortSignal | undefined, start: (done: Done) => () => void): Promise<CheckResult> {
  const t0 = performance.now();
  if (signal?.aborted) return Promise.resolve({ ok: false, rttMs: 0, error: abortReason(signal) });
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    let teardown: (() => void) | null = null;
    const onAbort = (): void => done(false, abortReason(signal!));
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    const done: Done = (ok, error) => {
      if (settled) return;
      settled = true;
      const rttMs = performance.now() - t0;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Teardown may still be unset if start() itself settled synchronously; run it below then.
      if (teardown) runTeardown(teardown);
      resolve({ ok, rttMs, error: ok ? null : (error ?? 'failed') });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const t = start(done);
      if (settled) runTeardown(t);
      else teardown = t;
    } catch (err) {
      // e.g. a header value Node refuses: a config problem, reported as this check's failure.
      done(false, describeError(err));
    }
  });
}

function runTeardown(t: () => void): void {
  try {
    t();
  } catch {
    // Destroying an already-destroyed socket is harmless; nothing here may turn a verdict into a throw.
  }
}

/** The scheduler aborts with an Error whose message is the reason (`timeout`, `stopped`). */
export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name !== 'AbortError') return r.message;
  if (typeof r === 'string') return r;
  return 'aborted';
}

/**
 * A short, stable failure reason: the errno code alone for socket errors (`ECONNREFUSED`),
 * `tls CODE: reason` for handshake and certificate problems, else the message; bounded, as it travels in views.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  const code = (err as NodeJS.ErrnoException).code;
  let text: string;
  // EPROTO is OpenSSL failing the handshake: its reason ("wrong version number") is the useful part.
  const ssl = code === 'EPROTO' ? /error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(err.message) : null;
  if (ssl) text = `tls EPROTO: ${ssl[1]}`;
  else if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) text = code;
  // Node 24 appends advice about its own flags ("; if the root CA is installed locally, try running
  // Node.js with --use-system-ca"), which means nothing to an operator reading an endpoint's reason.
  else if (typeof code === 'string' && /CERT|SELF_SIGNED|VERIFY|TLS|SSL/.test(code)) text = `tls ${code}: ${err.message.split('; ')[0]}`;
  else if (typeof code === 'string') text = `${code}: ${err.message}`;
  else text = err.message;
  return text.slice(0, 200);
}
