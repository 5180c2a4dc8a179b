/**
 * What the probe sidecar checks in a scale run: TCP listeners in this process. Every endpoint that
 * never flips points at one listener that accepts (so a check that happens to run changes
 * nothing); the first `perRegion` endpoints of each region are flippable, each on an address of
 * its own (endpoint `e0` on the region's front address `.1`, whose health decides whether `.1` is
 * in the answers; `e<j>` on `.1<j>`) and a shared port, with a short check (fall 1, rise 1).
 * Closing a listener makes the next check fail (ECONNREFUSED); listening again makes it pass.
 * The flipper toggles `perSecond` random flippable endpoints a second, each left alone at least
 * `dwellMs` (over two check intervals) so that the probe sees every state it is given.
 * @module
 */
import net from 'node:net';
import { endpointKey, regionAddresses, type CheckSpec } from './deployment.js';

function listen(address: string, port: number): Promise<net.Server> {
  const server = net.createServer((s) => s.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

const closeServer = (s: net.Server): Promise<void> => new Promise((r) => s.close(() => r()));

interface Flippable {
  address: string;
  server: net.Server | null;
  changedAt: number;
}

/** The address of flippable endpoint `j` of region `i`. */
export function flipAddress(i: number, j: number): string {
  const front = regionAddresses(i)[0];
  return j === 0 ? front : front.replace(/\.1$/, `.${10 + j}`);
}

export class CheckTargets {
  private readonly flippable = new Map<string, Flippable>();
  private acceptor: net.Server | null = null;
  private flipPort = 0;
  acceptPort = 0;

  /** Opens the acceptor and every flippable listener (all up). */
  static async open(regions: number, perRegion: number): Promise<CheckTargets> {
    const t = new CheckTargets();
    t.acceptor = await listen('127.0.0.1', 0);
    t.acceptPort = (t.acceptor.address() as net.AddressInfo).port;
    // Below the ephemeral range, so no outgoing connection can hold it while a listener is closed.
    for (let attempt = 0; ; attempt++) {
      t.flipPort = 20_000 + Math.floor(Math.random() * 12_000);
      try {
        for (let i = 0; i < regions; i++) {
          for (let j = 0; j < perRegion; j++) {
            const address = flipAddress(i, j);
            t.flippable.set(endpointKey(i, j), { address, server: await listen(address, t.flipPort), changedAt: 0 });
          }
        }
        return t;
      } catch (err) {
        await t.close();
        if (attempt >= 5) throw err;
      }
    }
  }

  /** The checks of the flippable endpoints, for `deployment()`. */
  checks(intervalMs: number): Map<string, CheckSpec> {
    const check = { type: 'tcp', intervalMs, timeoutMs: Math.min(1_000, intervalMs), fall: 1, rise: 1 };
    return new Map([...this.flippable].map(([key, f]) => [key, { address: f.address, port: this.flipPort, check }]));
  }

  get keys(): string[] {
    return [...this.flippable.keys()];
  }

  isUp(key: string): boolean {
    return this.flippable.get(key)?.server != null;
  }

  /** Flips one endpoint's listener; returns its new state. */
  async toggle(key: string, now = Date.now()): Promise<'up' | 'down'> {
    const f = this.flippable.get(key)!;
    f.changedAt = now;
    if (f.server) {
      const s = f.server;
      f.server = null;
      await closeServer(s);
      return 'down';
    }
    f.server = await listen(f.address, this.flipPort);
    return 'up';
  }

  /** Endpoints left alone for at least `dwellMs`. */
  eligible(now: number, dwellMs: number): string[] {
    const out: string[] = [];
    for (const [key, f] of this.flippable) if (now - f.changedAt >= dwellMs) out.push(key);
    return out;
  }

  async close(): Promise<void> {
    const all = [this.acceptor, ...[...this.flippable.values()].map((f) => f.server)];
    this.acceptor = null;
    for (const f of this.flippable.values()) f.server = null;
    await Promise.all(all.map((s) => (s ? closeServer(s) : undefined)));
  }
}

export interface Flipper {
  /** Toggles made. */
  readonly toggles: number;
  /** Toggles wanted but not made: no endpoint had dwelt long enough. */
  readonly short: number;
  stop(): void;
}

/** Toggles `perSecond` random eligible endpoints a second, in ten batches a second. */
export function startFlipper(targets: CheckTargets, perSecond: number, dwellMs: number): Flipper {
  const state = { toggles: 0, short: 0, owed: 0 };
  const timer = setInterval(() => {
    state.owed += perSecond / 10;
    const now = Date.now();
    const pool = targets.eligible(now, dwellMs);
    while (state.owed >= 1) {
      state.owed--;
      if (pool.length === 0) {
        state.short++;
        continue;
      }
      const key = pool.splice(Math.floor(Math.random() * pool.length), 1)[0]!;
      state.toggles++;
      void targets.toggle(key, now);
    }
  }, 100);
  return {
    get toggles() {
      return state.toggles;
    },
    get short() {
      return state.short;
    },
    stop: () => clearInterval(timer),
  };
}
