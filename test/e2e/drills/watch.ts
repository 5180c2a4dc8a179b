/** Measurements several drills share. @module */
import type { Agent } from '../agents.js';
import { sleep } from '../client-ops.js';
import { WWW } from '../config.js';
import { DNS_NODES } from '../plan.js';

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

/** Checks `pred` every 50 ms: the ms from `t0` until it held, or null once `timeoutMs` has passed. */
export async function until(pred: () => Promise<boolean>, timeoutMs: number, t0 = Date.now()): Promise<number | null> {
  while (Date.now() - t0 < timeoutMs) {
    if (await pred()) return Date.now() - t0;
    await sleep(50);
  }
  return null;
}
