/**
 * TCP connect check (gdnsd's tcp_connect): healthy when the three-way handshake completes within
 * the timeout. Nothing is sent; the socket is destroyed as soon as the verdict is known.
 * @module
 */
import net from 'node:net';
import { attempt, describeError } from './attempt.js';
import type { CheckResult, ProbeTarget } from './types.js';

export function runCheck(target: ProbeTarget, signal?: AbortSignal): Promise<CheckResult> {
  if (net.isIP(target.address) === 0) return Promise.resolve({ ok: false, rttMs: 0, error: 'address is not an IP literal' });
  return attempt(target.timing.timeoutMs, signal, (done) => {
    const socket = net.connect({ host: target.address, port: target.port, noDelay: true });
    socket.once('connect', () => done(true, null));
    // `on`, not `once`: a late error after teardown must still have a listener, or it would crash the process.
    socket.on('error', (err) => done(false, describeError(err)));
    socket.once('close', () => done(false, 'closed'));
    return () => socket.destroy();
  });
}
