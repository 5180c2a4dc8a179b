/**
 * The agent on a client host: runs client-ops.ts on request, so that queries and connections leave
 * from the client's own address (the one the geo database places on its continent). One JSON line
 * per request on stdin, `{ id, op, args }`; one JSON line per reply on stdout, `{ id, result }` or
 * `{ id, error }`. Prints `agent ready` on stderr once listening. Ends with its stdin.
 * @module
 */
import { createInterface } from 'node:readline';
import { ConnectionLoop, Watch, dnsQuery, httpGet, poll, type LoopSpec, type QuerySpec, type Until } from './client-ops.js';

const watches = new Map<string, Watch>();
const loops = new Map<string, ConnectionLoop>();

type Args = Record<string, unknown>;

const OPS: Record<string, (a: Args) => Promise<unknown>> = {
  query: async (a) => dnsQuery(a.q as QuerySpec),
  poll: async (a) => poll(a.q as QuerySpec, a.until as Until, a.intervalMs as number, a.timeoutMs as number),
  http: async (a) => httpGet(a.host as string, a.port as number, a.path as string, a.timeoutMs as number),
  watchStart: async (a) => void watches.set(a.key as string, new Watch(a.servers as string[], a.q as Omit<QuerySpec, 'server'>, a.intervalMs as number)),
  watchStop: async (a) => {
    const w = watches.get(a.key as string);
    watches.delete(a.key as string);
    return w ? w.stop() : [];
  },
  loopStart: async (a) => void loops.set(a.key as string, new ConnectionLoop(a.spec as LoopSpec)),
  loopPeek: async (a) => loops.get(a.key as string)?.report ?? null,
  loopStop: async (a) => {
    const l = loops.get(a.key as string);
    loops.delete(a.key as string);
    return l ? l.stop() : null;
  },
};

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req: { id: number; op: string; args: Args };
  try {
    req = JSON.parse(line) as typeof req;
  } catch {
    return;
  }
  const op = OPS[req.op];
  const reply = (body: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ id: req.id, ...body }) + '\n');
  if (!op) return reply({ error: `unknown op ${req.op}` });
  op(req.args).then(
    (result) => reply({ result: result ?? null }),
    (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
  );
});
rl.on('close', () => process.exit(0));
process.stderr.write('agent ready\n');
