/**
 * Backend choice for one new connection among the usable backends of a pool (already filtered by
 * health, ejection and the attempts this connection made). One balancer per listener pool keeps
 * the small state some modes need (a cursor, smooth-WRR credits).
 *
 * - round-robin: each backend in turn.
 * - weighted-round-robin: nginx's smooth weighted round robin: shares follow the weights and a
 *   heavy backend's turns are spread out rather than bunched.
 * - least-connections: fewest active connections; ties go round robin, so a fresh pool of idle
 *   backends is not filled one backend at a time.
 * - weighted-least-connections (default): smallest (active + 1) / weight, as HAProxy's leastconn
 *   with weights; with equal weights it is least-connections. It adapts to slow backends, which
 *   hold connections longer, and to long-lived connections, where round robin drifts.
 * - source-hash: weighted rendezvous hashing of the client address (not the port): a client keeps
 *   its backend while that backend is usable, and when one goes away only its clients move. A
 *   retry after a failed connect takes the next-best backend for that client, also stable.
 * - least-response-time: smallest connect time × (active + 1) / weight, the connect time being
 *   the backend's EWMA (connect-time.ts), as NGINX Plus's `least_time connect` ("the least average
 *   time and the least number of active connections, with server weights taken into account") and
 *   Finagle/Envoy's peak EWMA (latency × outstanding). A backend that is slow to accept, being far
 *   away or overloaded, gets fewer connections, in proportion; with equal times it is
 *   weighted-least-connections. Ties go round robin.
 * - random-two-choices: the power of two choices (Mitzenmacher; HAProxy's `random(2)`, Envoy's
 *   least-request with equal weights): draw two different backends at random, with probability in
 *   proportion to their weights, and take the one with the smaller (active + 1) / weight. Nearly
 *   the balance of a full least-connections scan, without all forwarders' picks herding onto the
 *   same least-loaded backend at once.
 * @module
 */
import { DEFAULT_DECAY_MS, type BalanceMode } from './config.js';
import { connectCost, poolFloor, type ConnectTimed } from './connect-time.js';
import { fmix32, stringHash, unitInterval } from '../policy/hash.js';

export interface Pickable extends Partial<ConnectTimed> {
  key: string;
  /** > 0; weight-0 backends are filtered out before picking. */
  weight: number;
  /** Connections open to this backend now. */
  active: number;
}

/** What the time- and chance-based balancers read; the defaults are the real clock and Math.random. */
export interface BalancerOptions {
  /** τ of the connect-time average (`forward.leastResponseTime.decayMs`), read at each pick. */
  decayMs?: () => number;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** Uniform in [0, 1). */
  random?: () => number;
}

export interface Balancer {
  pick<B extends Pickable>(candidates: readonly B[], clientAddress: string): B | null;
  /** Whether pick() reads the client address (reading it costs a system call per connection). */
  readonly usesSource: boolean;
}

export function createBalancer(mode: BalanceMode, opts: BalancerOptions = {}): Balancer {
  switch (mode) {
    case 'round-robin':
      return roundRobin();
    case 'weighted-round-robin':
      return smoothWeighted();
    case 'least-connections':
      return least(() => activeOnly);
    case 'weighted-least-connections':
      return least(() => loadPerWeight);
    case 'source-hash':
      return sourceHash();
    case 'least-response-time': {
      const now = opts.now ?? (() => performance.now());
      const decayMs = opts.decayMs ?? (() => DEFAULT_DECAY_MS);
      return least((pool) => {
        const floor = poolFloor(pool);
        const t = now();
        const tau = decayMs();
        return (b) => (connectCost(b, floor, t, tau) * (b.active + 1)) / b.weight;
      });
    }
    case 'random-two-choices':
      return twoChoices(opts.random ?? Math.random);
  }
}

const activeOnly = (b: Pickable): number => b.active;
const loadPerWeight = (b: Pickable): number => (b.active + 1) / b.weight;

function roundRobin(): Balancer {
  let next = 0;
  return {
    usesSource: false,
    pick(c) {
      if (c.length === 0) return null;
      const b = c[next % c.length]!;
      next = (next + 1) % 1_000_000_007;
      return b;
    },
  };
}

function smoothWeighted(): Balancer {
  // Credits per backend key; a backend that leaves the pool keeps its credit for when it returns,
  // bounded by one round of the total weight, so it cannot come back with a burst.
  const credit = new Map<string, number>();
  return {
    usesSource: false,
    pick(c) {
      if (c.length === 0) return null;
      let total = 0;
      let best: (typeof c)[number] | null = null;
      let bestCredit = -Infinity;
      for (const b of c) {
        total += b.weight;
        const cr = (credit.get(b.key) ?? 0) + b.weight;
        credit.set(b.key, cr);
        if (cr > bestCredit) {
          bestCredit = cr;
          best = b;
        }
      }
      credit.set(best!.key, bestCredit - total);
      for (const [k, v] of credit) if (Math.abs(v) > total * 2) credit.set(k, Math.sign(v) * total);
      if (credit.size > c.length * 4 + 64) credit.clear(); // keys of a pool that changed a lot
      return best;
    },
  };
}

/** The smallest cost wins; `costs(pool)` prepares the cost function once per pick. */
function least(costs: (pool: readonly Pickable[]) => (b: Pickable) => number): Balancer {
  let rotate = 0;
  return {
    usesSource: false,
    pick(c) {
      if (c.length === 0) return null;
      const cost = costs(c);
      // Start the scan at a rotating offset: equal costs then take turns.
      const start = rotate++ % c.length;
      if (rotate > 1_000_000_007) rotate = 0;
      let best = c[start]!;
      let bestCost = cost(best);
      for (let i = 1; i < c.length; i++) {
        const b = c[(start + i) % c.length]!;
        const k = cost(b);
        if (k < bestCost) {
          best = b;
          bestCost = k;
        }
      }
      return best;
    },
  };
}

function sourceHash(): Balancer {
  return {
    usesSource: true,
    pick(c, clientAddress) {
      if (c.length === 0) return null;
      const h = stringHash(clientAddress);
      let best = c[0]!;
      let bestScore = Infinity;
      for (const b of c) {
        const score = -Math.log(unitInterval(fmix32(h ^ stringHash(b.key)))) / b.weight;
        if (score < bestScore) {
          bestScore = score;
          best = b;
        }
      }
      return best;
    },
  };
}

function twoChoices(random: () => number): Balancer {
  return {
    usesSource: false,
    pick(c) {
      if (c.length <= 1) return c[0] ?? null;
      let total = 0;
      for (const b of c) total += b.weight;
      const i = draw(c, total, -1, random);
      const j = draw(c, total - c[i]!.weight, i, random);
      const x = c[i]!;
      const y = c[j]!;
      // A tie keeps the first draw, itself random.
      return loadPerWeight(y) < loadPerWeight(x) ? y : x;
    },
  };
}

/** An index of `c` other than `skip`, with probability weight / total (total excludes `skip`). */
function draw(c: readonly Pickable[], total: number, skip: number, random: () => number): number {
  let r = random() * total;
  let last = -1;
  for (let i = 0; i < c.length; i++) {
    if (i === skip) continue;
    last = i;
    r -= c[i]!.weight;
    if (r < 0) return i;
  }
  return last; // rounding left r at ~0 after the last backend
}
