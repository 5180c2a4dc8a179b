/**
 * Admin API traffic during a scale run: `GET /v1/status` every `statusEveryMs`, and an endpoint
 * registration (`POST /v1/regions/r<n>/endpoints`, an autoscaler's call) every `registerEveryMs`,
 * each at the accepting check target so it comes up; with `deregister`, every other write removes
 * the endpoint the one before registered (a soak's config stays the same size). Each call is timed;
 * a failed one is kept (status and body) for the report.
 * @module
 */
import type { ScaleNode } from './harness.js';

export interface ApiLoadResult {
  status: number[];
  register: number[];
  deregister: number[];
  /** Versions the writes created, in order. */
  versions: { version: number; action: 'register' | 'deregister' }[];
  failures: string[];
}

export interface ApiLoadOptions {
  regions: number;
  acceptPort: number;
  statusEveryMs: number;
  registerEveryMs: number;
  deregister: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function startApiLoad(node: ScaleNode, opts: ApiLoadOptions): { stop(): Promise<ApiLoadResult> } {
  const out: ApiLoadResult = { status: [], register: [], deregister: [], versions: [], failures: [] };
  let running = true;
  const fail = (what: string, r: { status: number; body: unknown }): void => void out.failures.push(`${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);

  async function statusLoop(): Promise<void> {
    while (running) {
      const r = await node.api('GET', '/v1/status').catch((e: Error) => ({ status: 0, body: e.message, ms: NaN }));
      if (r.status === 200) out.status.push(r.ms);
      else fail('GET /v1/status', r);
      await sleep(opts.statusEveryMs);
    }
  }

  async function writeLoop(): Promise<void> {
    let n = 0;
    let registered: { region: string; id: string } | null = null;
    while (running) {
      const started = performance.now();
      if (opts.deregister && registered) {
        const { region, id } = registered;
        const r = await node.api('DELETE', `/v1/regions/${region}/endpoints?id=${id}`).catch((e: Error) => ({ status: 0, body: e.message, ms: NaN }));
        if (r.status === 200) {
          out.deregister.push(r.ms);
          out.versions.push({ version: (r.body as { version: number }).version, action: 'deregister' });
        } else fail(`DELETE ${region}/${id}`, r);
        registered = null;
      } else {
        const region = `r${n % opts.regions}`;
        const id = `bench-${n++}`;
        const r = await node.api('POST', `/v1/regions/${region}/endpoints`, { id, address: '127.0.0.1', port: opts.acceptPort }).catch((e: Error) => ({ status: 0, body: e.message, ms: NaN }));
        if (r.status === 201) {
          out.register.push(r.ms);
          out.versions.push({ version: (r.body as { version: number }).version, action: 'register' });
          registered = { region, id };
        } else fail(`POST ${region}/${id}`, r);
      }
      await sleep(Math.max(0, opts.registerEveryMs - (performance.now() - started)));
    }
  }

  const loops = [statusLoop(), writeLoop()];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return out;
    },
  };
}
