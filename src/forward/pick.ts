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
 * @module
 */
import type { BalanceMode } from './config.js';
import { fmix32, stringHash, unitInterval } from '../policy/hash.js';

export interface Pickable {
  key: string;
  /** > 0; weight-0 backends are filtered out before picking. */
  weight: number;
  /** Connections open to this backend now. */
  active: number;
}

export interface Balancer {
  pick<B extends Pickable>(candidates: readonly B[], clientAddress: string): B | null;
  /** Whether pick() reads the client address (reading it costs a system call per connection). */
  readonly usesSource: boolean;
}

export function createBalancer(mode: BalanceMode): Balancer {
  switch (mode) {
    case 'round-robin':
      return roundRobin();
    case 'weighted-round-robin':
      return smoothWeighted();
    case 'least-connections':
      return least((b) => b.active);
    case 'weighted-least-connections':
      return least((b) => (b.active + 1) / b.weight);
    case 'source-hash':
      return sourceHash();
  }
}

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

function least(cost: (b: Pickable) => number): Balancer {
  let rotate = 0;
  return {
    usesSource: false,
    pick(c) {
      if (c.length === 0) return null;
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
