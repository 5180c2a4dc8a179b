/** Measurements several drills share. @module */
import type { Agent } from '../agents.js';
import { WWW } from '../config.js';
import { CLIENTS, DNS_NODES, regionOf } from '../plan.js';
import type { System } from '../system.js';

/** How often a poller asks, and how long it waits for a change. */
export const POLL_MS = 20;
export const POLL_TIMEOUT_MS = 15_000;

/**
 * Polls both DNS nodes from `client` for www, runs `act` (the failure), and returns for each node
 * the milliseconds from just before `act` until its first answer without `address` (null: never,
 * within POLL_TIMEOUT_MS).
 */
export async function stopHandingOut(client: Agent, address: string, act: () => Promise<void>): Promise<{ t0: number; times: (number | null)[] }> {
  const polls = DNS_NODES.map((d) => client.poll({ server: d.address, name: WWW }, { kind: 'without', address }, POLL_MS, POLL_TIMEOUT_MS));
  const t0 = Date.now();
  await act();
  const results = await Promise.all(polls);
  return { t0, times: results.map((r) => (r.at === null ? null : r.at - t0)) };
}

/** How long a watched query waits for its reply: a stub resolver waits seconds before retrying. */
export const WATCH_TIMEOUT_MS = 2000;

/** Every client samples www on both DNS nodes every 100 ms until stopWatches. */
export async function startWatches(sys: System, key: string, clients = CLIENTS): Promise<void> {
  const servers = DNS_NODES.map((d) => d.address);
  await Promise.all(clients.map((c) => sys.agent(c.host).watchStart(key, servers, { name: WWW, timeoutMs: WATCH_TIMEOUT_MS }, 100)));
}

/**
 * Stops the watches of `key`; counts samples whose answer is not what `expect` says the client should
 * get (default: its nearest region), or that got no answer.
 */
export async function stopWatches(
  sys: System,
  key: string,
  expect: (c: (typeof CLIENTS)[number]) => string = (c) => regionOf(c.nearest).forwarder,
): Promise<{ samples: number; wrong: number; examples: string[] }> {
  let samples = 0;
  let wrong = 0;
  const examples: string[] = [];
  for (const c of CLIENTS) {
    const want = expect(c);
    for (const s of await sys.agent(c.host).watchStop(key)) {
      samples++;
      if (s.answer?.addresses.length === 1 && s.answer.addresses[0] === want) continue;
      wrong++;
      if (examples.length < 5) examples.push(`${c.host}@${s.server} ${new Date(s.at).toISOString()}: ${s.answer?.addresses.join(',') ?? 'no answer'}`);
    }
  }
  return { samples, wrong, examples };
}
