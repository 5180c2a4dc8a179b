/**
 * The operator's handle on a client host's agent (agent.ts): typed calls over its stdin/stdout.
 * @module
 */
import { createInterface } from 'node:readline';
import type { Answer, HttpResult, LoopReport, LoopSpec, PollResult, QuerySpec, Sample, Until } from './client-ops.js';
import type { Proc } from './processes.js';

export class Agent {
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(
    readonly host: string,
    readonly address: string,
    private readonly proc: Proc,
  ) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      let msg: { id: number; result?: unknown; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(`${host}: ${msg.error}`));
      else p?.resolve(msg.result);
    });
    void proc.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error(`agent on ${host} exited:\n${proc.tail()}`));
      this.pending.clear();
    });
  }

  private call<T>(op: string, args: Record<string, unknown>): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.child.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }

  query(q: QuerySpec): Promise<Answer | null> {
    return this.call('query', { q });
  }

  poll(q: QuerySpec, until: Until, intervalMs: number, timeoutMs: number): Promise<PollResult> {
    return this.call('poll', { q, until, intervalMs, timeoutMs });
  }

  http(host: string, port: number, path: string, timeoutMs = 2000): Promise<HttpResult> {
    return this.call('http', { host, port, path, timeoutMs });
  }

  watchStart(key: string, servers: string[], q: Omit<QuerySpec, 'server'>, intervalMs: number): Promise<void> {
    return this.call('watchStart', { key, servers, q, intervalMs });
  }

  watchStop(key: string): Promise<Sample[]> {
    return this.call('watchStop', { key });
  }

  loopStart(key: string, spec: LoopSpec): Promise<void> {
    return this.call('loopStart', { key, spec });
  }

  /** The loop's report so far, while it keeps running. */
  loopPeek(key: string): Promise<LoopReport | null> {
    return this.call('loopPeek', { key });
  }

  loopStop(key: string): Promise<LoopReport> {
    return this.call('loopStop', { key });
  }
}
