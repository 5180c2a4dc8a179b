/**
 * Drill 9, a DNS node killed and restarted while Redis is unreachable from it: dns-b is killed
 * (SIGKILL) and cut off from the Redis hosts (packets dropped on the path), then started again.
 * Measured: dns-a keeps answering throughout; dns-b answers within 5 s of its start, from its local
 * copy of the last config version (cfg's TTL as changed through the API, not the YAML's); and once
 * Redis is reachable again it follows the store (a new change reaches it).
 * @module
 */
import { sleep } from '../client-ops.js';
import { CFG, CFG_TTL, WWW } from '../config.js';
import { CLIENTS, DNS_NODES, REDIS_NETWORK } from '../plan.js';
import { row, secs, timedRow, type Row } from '../table.js';
import { setCfgTtl } from './cfg.js';
import type { Drill } from './types.js';
import { WATCH_TIMEOUT_MS } from './watch.js';

const D = '9 DNS node restart, Redis unreachable';
const NODE = 'dns-b';

export const nodeRestart: Drill = {
  n: 9,
  title: 'DNS node restart without Redis',
  timeoutMs: 90_000,
  async run(sys) {
    const b = DNS_NODES.find((d) => d.host === NODE)!;
    const a = DNS_NODES.find((d) => d.host !== NODE)!;
    const rows: Row[] = [];
    const ttl = 77;
    if (!(await setCfgTtl(sys, ttl, b.address))) throw new Error(`${NODE} never answered with the new TTL before the drill`);
    const watcher = sys.agent(CLIENTS[0]!.host);
    await watcher.watchStart('d9', [a.address], { name: WWW, timeoutMs: WATCH_TIMEOUT_MS }, 100);
    try {
      await sys.running.get(NODE)!.kill();
      sys.topo.partition(NODE, [REDIS_NETWORK]);
      const t0 = Date.now();
      const proc = sys.spawnDns(NODE);
      const first = await watcher.poll({ server: b.address, name: CFG }, { kind: 'any' }, 50, 20_000);
      const answeredIn = first.at === null ? null : first.at - t0;
      rows.push(
        timedRow(
          D,
          `${NODE} answers after its start, Redis unreachable`,
          answeredIn === null ? `never in 20 s${proc.running ? '' : ' (exited)'}` : secs(answeredIn),
          '≤ 5 s',
          answeredIn !== null && answeredIn <= 5000,
        ),
      );
      rows.push(
        row(
          D,
          `it answers from its local copy (${CFG} TTL ${ttl} set through the API; the YAML says ${CFG_TTL})`,
          first.last?.ttl == null ? 'no answer' : `TTL ${first.last.ttl}`,
          `TTL ${ttl}`,
          first.last?.ttl === ttl,
        ),
      );
      await sleep(1000);
      const samples = await watcher.watchStop('d9');
      const missing = samples.filter((s) => !s.answer?.addresses.length).length;
      rows.push(row(D, `${a.host} answers missing while ${NODE} was down and restarting (${samples.length} sampled)`, String(missing), '0', missing === 0));
      sys.topo.heal();
      const t1 = Date.now();
      const follows = await setCfgTtl(sys, ttl + 1, b.address);
      rows.push(row(D, `${NODE} follows the store again once Redis is reachable (a new change seen)`, follows ? secs(Date.now() - t1) : 'no, within 5 s', 'yes', follows));
    } finally {
      await watcher.watchStop('d9').catch(() => null);
      sys.topo.heal();
      if (!sys.running.get(NODE)?.running) await sys.startDns(NODE).catch(() => null);
    }
    return rows;
  },
};
