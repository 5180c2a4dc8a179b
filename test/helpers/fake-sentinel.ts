/**
 * A Sentinel stand-in whose timing a test controls: it names a real redis-server as the master of
 * a group, holds its answers to `SENTINEL get-master-addr-by-name` while `hold()` is in force, and
 * publishes `+switch-master` to its subscribers on `switchMaster()`. A real Sentinel decides both
 * on its own clock; this one lets a test put a failover notice exactly inside a client's master
 * lookup. Anything else it is sent gets `+OK`.
 *
 *   const fake = await startFakeSentinel('meridian', redisPort);
 *   fake.hold();                 // lookups wait
 *   fake.switchMaster();         // failover notice to every subscriber
 *   fake.release();              // the held lookups are answered
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface FakeSentinel {
  port: number;
  /** Lookups answered so far. */
  lookups: number;
  /** Lookups waiting for release(). */
  held(): number;
  hold(): void;
  release(): void;
  switchMaster(): void;
  close(): Promise<void>;
}

const bulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const array = (items: string[]): string => `*${items.length}\r\n${items.map(bulk).join('')}`;

/** Complete RESP arrays of bulk strings at the start of `buf`; returns them and what is left. */
function parseCommands(buf: string): { commands: string[][]; rest: string } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const start = at;
    if (buf[at] !== '*') break;
    let eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const n = Number(buf.slice(at + 1, eol));
    at = eol + 2;
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      eol = buf.indexOf('\r\n', at);
      if (eol < 0 || buf[at] !== '$') return { commands, rest: buf.slice(start) };
      const len = Number(buf.slice(at + 1, eol));
      if (buf.length < eol + 2 + len + 2) return { commands, rest: buf.slice(start) };
      args.push(buf.slice(eol + 2, eol + 2 + len));
      at = eol + 2 + len + 2;
    }
    commands.push(args);
  }
  return { commands, rest: buf.slice(at) };
}

export async function startFakeSentinel(name: string, masterPort: number, masterHost = '127.0.0.1'): Promise<FakeSentinel> {
  const subscribers = new Set<Socket>();
  const sockets = new Set<Socket>();
  let holding = false;
  let waiting: (() => void)[] = [];
  const state = { lookups: 0 };
  const answer = (s: Socket, cmd: string[]): void => {
    const [c, sub, arg] = cmd.map((x, i) => (i < 2 ? x.toLowerCase() : x));
    if (c === 'sentinel' && sub === 'get-master-addr-by-name') {
      const reply = (): void => {
        state.lookups++;
        if (!s.destroyed) s.write(arg === name ? array([masterHost, String(masterPort)]) : '*-1\r\n');
      };
      if (holding) waiting.push(reply);
      else reply();
    } else if (c === 'sentinel' && sub === 'sentinels') s.write('*0\r\n');
    else if (c === 'subscribe') {
      subscribers.add(s);
      s.write(`*3\r\n${bulk('subscribe')}${bulk(cmd[1]!)}:1\r\n`);
    } else s.write('+OK\r\n');
  };
  const server: Server = createServer((s) => {
    sockets.add(s);
    let buf = '';
    s.on('data', (d: Buffer) => {
      const parsed = parseCommands(buf + d.toString('latin1'));
      buf = parsed.rest;
      for (const cmd of parsed.commands) answer(s, cmd);
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      subscribers.delete(s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get lookups() {
      return state.lookups;
    },
    held: () => waiting.length,
    hold: () => void (holding = true),
    release() {
      holding = false;
      const go = waiting;
      waiting = [];
      for (const f of go) f();
    },
    switchMaster() {
      const msg = `${name} ${masterHost} ${masterPort} ${masterHost} ${masterPort}`;
      for (const s of subscribers) s.write(`*3\r\n${bulk('message')}${bulk('+switch-master')}${bulk(msg)}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
