/**
 * `/healthz` and `/readyz` on a role's metrics listener, for Kubernetes probes, load balancers and
 * systemd/Docker health checks. `/healthz` answers 200 while the process serves HTTP at all (alive:
 * restart it if not). `/readyz` answers 200 when the role can do its job and 503 with the reasons
 * when not (take it out of rotation, do not restart it). Both bodies are JSON.
 * @module
 */
import type http from 'node:http';

/** What a role says about its readiness: `reasons` it is not ready (none: ready), `notes` that do not make it unready. */
export interface ReadyState {
  reasons: string[];
  notes: string[];
}

export type Readiness = () => ReadyState;

/** Answers /healthz and /readyz; false for any other path (the caller answers it). */
export function answerHealthProbe(req: http.IncomingMessage, res: http.ServerResponse, readiness: Readiness): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/healthz') {
    send(res, 200, { status: 'alive' });
    return true;
  }
  if (path !== '/readyz') return false;
  let state: ReadyState;
  try {
    state = readiness();
  } catch (err) {
    state = { reasons: [`readiness check failed: ${(err as Error).message}`], notes: [] };
  }
  const ready = state.reasons.length === 0;
  send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', reasons: state.reasons, notes: state.notes });
  return true;
}

function send(res: http.ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body) + '\n');
}

/** Combines the readiness of a role's parts. */
export function allOf(...parts: Readiness[]): Readiness {
  return () => {
    const out: ReadyState = { reasons: [], notes: [] };
    for (const p of parts) {
      const s = p();
      out.reasons.push(...s.reasons);
      out.notes.push(...s.notes);
    }
    return out;
  };
}
