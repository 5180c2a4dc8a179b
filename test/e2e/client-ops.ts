/**
 * What a client host does, as plain functions: DNS queries to a node, polling until an answer
 * changes, sampling answers over a window, HTTP requests and loops of connections. The agent
 * (agent.ts) runs them on client hosts; the operator host calls them directly. Every time is a
 * wall-clock millisecond (`Date.now()`), comparable across the processes of one machine.
 * @module
 */
import net from 'node:net';
import { decode, query, udpExchange } from '../helpers/client.js';

export interface Answer {
  rcode: string;
  addresses: string[];
  /** TTL of the first address record; null without one. */
  ttl: number | null;
}

export interface QuerySpec {
  server: string;
  name: string;
  type?: 'A' | 'AAAA';
  ecs?: string;
  timeoutMs?: number;
}

/** One query over UDP; null when no reply came in time. */
export async function dnsQuery(q: QuerySpec): Promise<Answer | null> {
  const raw = await udpExchange(53, query(q.name, q.type ?? 'A', q.ecs ? { ecs: q.ecs } : {}), { host: q.server, timeoutMs: q.timeoutMs ?? 500 });
  if (!raw) return null;
  const m = decode(raw);
  const rrs = m.answers.filter((a) => a.type === (q.type ?? 'A'));
  return { rcode: m.rcode, addresses: rrs.map((a) => String(a.data)).sort(), ttl: rrs[0]?.ttl ?? null };
}

/** What a poll waits for. */
export type Until =
  | { kind: 'without'; address: string } // a reply that does not hand out the address
  | { kind: 'with'; address: string }
  | { kind: 'ttl'; ttl: number } // the first address record has this TTL
  | { kind: 'ttlAtMost'; ttl: number }
  | { kind: 'any' }; // any reply at all

export function matches(a: Answer | null, until: Until): boolean {
  if (!a || a.rcode !== 'NOERROR') return false;
  switch (until.kind) {
    case 'without':
      return a.addresses.length > 0 && !a.addresses.includes(until.address);
    case 'with':
      return a.addresses.includes(until.address);
    case 'ttl':
      return a.ttl === until.ttl;
    case 'ttlAtMost':
      return a.ttl !== null && a.ttl <= until.ttl;
    case 'any':
      return true;
  }
}

export interface PollResult {
  /** When the first matching reply was received; null on timeout. */
  at: number | null;
  polls: number;
  last: Answer | null;
}

/** Queries every `intervalMs` until a reply matches, or `timeoutMs` passes. */
export async function poll(q: QuerySpec, until: Until, intervalMs: number, timeoutMs: number): Promise<PollResult> {
  const end = Date.now() + timeoutMs;
  let polls = 0;
  let last: Answer | null = null;
  while (Date.now() < end) {
    const started = Date.now();
    last = await dnsQuery({ ...q, timeoutMs: Math.min(q.timeoutMs ?? 300, Math.max(1, end - started)) });
    polls++;
    if (matches(last, until)) return { at: Date.now(), polls, last };
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
  return { at: null, polls, last };
}

export interface Sample {
  at: number;
  server: string;
  answer: Answer | null;
}

/** Samples the answers of every server every `intervalMs` until stopped. */
export class Watch {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(servers: string[], q: Omit<QuerySpec, 'server'>, intervalMs: number) {
    this.done = (async () => {
      while (this.running) {
        const started = Date.now();
        await Promise.all(servers.map(async (server) => this.samples.push({ at: Date.now(), server, answer: await dnsQuery({ ...q, server }) })));
        await sleep(Math.max(0, intervalMs - (Date.now() - started)));
      }
    })();
  }

  async stop(): Promise<Sample[]> {
    this.running = false;
    await this.done;
    return this.samples;
  }
}

export interface HttpResult {
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
  ms: number;
}

/** One HTTP/1.0 GET on a fresh connection (no pooling: each request is a new connection). */
export function httpGet(host: string, port: number, path: string, timeoutMs: number): Promise<HttpResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    let settled = false;
    const finish = (r: Omit<HttpResult, 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...r, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    sock.on('data', (d: Buffer) => (buf += d.toString()));
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: e.code ?? e.message }));
    sock.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (!m) return finish({ ok: false, error: buf ? 'bad response' : 'closed without a response' });
      const status = Number(m[1]);
      finish({ ok: status === 200, status, body: buf.slice(buf.indexOf('\r\n\r\n') + 4).trim() });
    });
  });
}

export interface LoopSpec {
  /** A fixed target (a client holding an old answer), or a name resolved through `resolver`. */
  target: { host: string; port: number } | { resolver: string; name: string; port: number };
  path: string;
  concurrency: number;
  timeoutMs: number;
}

export interface LoopReport {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** Connections per serving backend (the body names it). */
  servedBy: Record<string, number>;
  /** Connections per address connected to. */
  byAddress: Record<string, number>;
  /** Failed connections: when each started and ended. */
  failures: { started: number; at: number; address: string; error: string }[];
}

/**
 * Connections in a loop, `concurrency` at a time, each a GET of `path`. With a resolver target the
 * loop is a stub resolver that honours TTLs: it re-resolves only once the cached answer expires.
 */
export class ConnectionLoop {
  readonly report: LoopReport = { ok: 0, failed: 0, errors: {}, servedBy: {}, byAddress: {}, failures: [] };
  private running = true;
  private readonly done: Promise<void>;
  private cache: { address: string; until: number } | null = null;

  constructor(private readonly spec: LoopSpec) {
    this.done = Promise.all(Array.from({ length: spec.concurrency }, () => this.worker())).then(() => undefined);
  }

  private async address(): Promise<string | null> {
    const t = this.spec.target;
    if ('host' in t) return t.host;
    if (this.cache && this.cache.until > Date.now()) return this.cache.address;
    const a = await dnsQuery({ server: t.resolver, name: t.name });
    if (!a?.addresses[0]) return null;
    this.cache = { address: a.addresses[0], until: Date.now() + (a.ttl ?? 0) * 1000 };
    return this.cache.address;
  }

  private async worker(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const address = await this.address();
      const r: HttpResult = address ? await httpGet(address, this.spec.target.port, this.spec.path, this.spec.timeoutMs) : { ok: false, error: 'no DNS answer', ms: 0 };
      const rep = this.report;
      if (address) rep.byAddress[address] = (rep.byAddress[address] ?? 0) + 1;
      if (r.ok) {
        rep.ok++;
        rep.servedBy[r.body ?? '?'] = (rep.servedBy[r.body ?? '?'] ?? 0) + 1;
      } else {
        rep.failed++;
        const why = r.error ?? `status ${r.status}`;
        rep.errors[why] = (rep.errors[why] ?? 0) + 1;
        rep.failures.push({ started, at: Date.now(), address: address ?? '', error: why });
        await sleep(20); // a failing target must not spin
      }
    }
  }

  async stop(): Promise<LoopReport> {
    this.running = false;
    await this.done;
    return this.report;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Checks `pred` every 50 ms: the ms from `t0` until it held, or null once `timeoutMs` has passed. */
export async function until(pred: () => Promise<boolean>, timeoutMs: number, t0 = Date.now()): Promise<number | null> {
  while (Date.now() - t0 < timeoutMs) {
    if (await pred()) return Date.now() - t0;
    await sleep(50);
  }
  return null;
}
