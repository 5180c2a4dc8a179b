/**
 * Flip → answer latency: this process subscribes to the health bus channel as a DNS node does, so
 * it hears each change the probe publishes when the node does. For a flip of a region's front
 * endpoint (`r<i>/e0`, whose state decides whether `.1` is answered) it then asks the node,
 * back to back, for a service whose answer that region gives to the polling client (the geo
 * service that lists the region first for EU clients, polled with an EU client subnet; the same
 * subnet every time, so a stale cached decision would show), until the answer reflects the flip.
 * The latency is from the notice to that answer; a flip not reflected within `giveUpMs` counts as
 * `giveUpMs`.
 * @module
 */
import dgram from 'node:dgram';
import { Redis } from 'ioredis';
import { query } from '../../test/helpers/client.js';
import { EU_CLIENT } from './clients.js';
import { regionAddresses } from './deployment.js';

export interface FlipObserver {
  /** Change notices seen for the watched endpoints (flips), and all change notices. */
  readonly flips: number;
  readonly changes: number;
  /** Flip → answer latencies (ms) of the front-endpoint flips measured so far. */
  readonly latencies: number[];
  /** Flips that were not reflected within the give-up time. */
  readonly unreflected: number;
  /** Starts or stops measuring (notices are counted only while measuring). */
  measuring: boolean;
  close(): Promise<void>;
}

export interface ObserverOptions {
  redisUrl: string;
  dnsPort: number;
  /** Endpoints whose flips count (the flippable ones). */
  watched: Set<string>;
  /** The service to poll for a flip of region `i`'s front endpoint, or undefined to skip it. */
  serviceFor: (region: number) => string | undefined;
  giveUpMs?: number;
}

/** Whether an answer's addresses show `.1` of region `i` in the state `up`. */
function reflects(msg: Buffer, front: Buffer, up: boolean): boolean {
  return msg.indexOf(front, 12) >= 0 === up;
}

export async function observeFlips(opts: ObserverOptions): Promise<FlipObserver> {
  const giveUpMs = opts.giveUpMs ?? 5_000;
  const sub = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await sub.connect();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const waiting = new Map<number, (msg: Buffer | null) => void>();
  sock.on('message', (m) => waiting.get(m.readUInt16BE(0))?.(m));
  let nextId = 0;
  const ask = (name: string): Promise<Buffer | null> => {
    const id = (nextId = (nextId + 1) & 0xffff);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), 250);
      const done = (m: Buffer | null): void => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(m);
      };
      waiting.set(id, done);
      sock.send(query(name, 'A', { id, ecs: EU_CLIENT.ecs }), opts.dnsPort, '127.0.0.1');
    });
  };
  const current = new Map<number, number>(); // region -> generation of its latest flip
  const state = { flips: 0, changes: 0, unreflected: 0, latencies: [] as number[], measuring: false, closed: false };

  async function measure(region: number, up: boolean, at: number): Promise<void> {
    const name = opts.serviceFor(region);
    if (!name) return;
    const generation = (current.get(region) ?? 0) + 1;
    current.set(region, generation);
    const front = Buffer.from(regionAddresses(region)[0].split('.').map(Number));
    while (!state.closed && current.get(region) === generation) {
      const msg = await ask(name);
      const now = performance.now();
      if (msg && reflects(msg, front, up)) return void state.latencies.push(now - at);
      if (now - at >= giveUpMs) {
        state.unreflected++;
        return void state.latencies.push(giveUpMs);
      }
    }
  }

  sub.on('message', (_channel: string, text: string) => {
    const at = performance.now();
    if (!state.measuring) return;
    let notice: { kind?: string; endpoint?: string; observation?: { status?: string } };
    try {
      notice = JSON.parse(text) as typeof notice;
    } catch {
      return;
    }
    if (notice.kind !== 'change' || !notice.endpoint) return;
    state.changes++;
    if (!opts.watched.has(notice.endpoint)) return;
    state.flips++;
    const m = /^r(\d+)\/e0$/.exec(notice.endpoint);
    if (m) void measure(Number(m[1]), notice.observation?.status === 'up', at);
  });
  await sub.subscribe('{meridian}:health');
  return {
    get flips() {
      return state.flips;
    },
    get changes() {
      return state.changes;
    },
    get latencies() {
      return state.latencies;
    },
    get unreflected() {
      return state.unreflected;
    },
    get measuring() {
      return state.measuring;
    },
    set measuring(on: boolean) {
      state.measuring = on;
    },
    async close() {
      state.closed = true;
      sub.disconnect();
      sock.close();
    },
  };
}
