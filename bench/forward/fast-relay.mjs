// The fastest L4 TCP relay we found inside node:net (public API only, no addons): listen port -> one
// backend host:port. Research artefact of bench/forward (see README.md, "Relay research"): every technique
// can be switched off with a flag, so the harness can measure what each one is worth in the same run.
//
// Usage: node fast-relay.mjs [flags] LISTEN_PORT BACKEND_HOST:BACKEND_PORT     (listens on 127.0.0.1)
//   --pipe                stream.pipe() both ways (half-close kept) instead of the manual data/write/pause/resume
//                         relay; implies --no-onread, --no-pause-on-connect and a per-socket idle timer
//   --no-onread           backend -> client reads through 'data' events (a new buffer per read) instead of
//                         net.connect's onread into a reused buffer
//   --no-nodelay          leave Nagle's algorithm on (default: TCP_NODELAY on both sockets)
//   --no-pause-on-connect read the client while the backend connection is still being set up
//   --no-direct-close     always end() (shutdown) the second direction too, instead of closing a socket
//                         that has already seen EOF and has nothing left to write
//   --timer-per-socket    socket.setTimeout() per socket instead of one sweep timer for all connections
//   --closures            per-connection closures instead of shared handlers that use `this` (implies
//                         --eager-listeners)
//   --eager-listeners     'drain' and 'close' listeners on both sockets up front, once('connect'), instead of
//                         'drain' only while paused and 'close' on the client only
//   --client-onread       client -> backend reads into the reused buffer too: accepted sockets are built by
//                         our own connection handler with net.Socket's onread (see src/forward/accept.ts)
//   --idle=MS             idle timeout [60000], 0 = none
//   --max-conns=N         connection limit (server.maxConnections) [10000]
//   --backlog=N           listen backlog [4096]
//   --buffer=BYTES        size of the reused read buffer [65536]
//   --hwm=BYTES           write high-water mark of both sockets: a direction pauses when this much is queued
//                         [16384, node's default]
//
// Correctness (what must hold whatever the flags; bench/forward/check-relay.mjs tests it):
//   * half-close: a FIN from one side is forwarded as a FIN (shutdown) to the other once everything read
//     before it has been written; the other direction keeps flowing until its own FIN.
//   * bounded buffering: a direction stops reading when its destination's write queue reaches the
//     writable high-water mark (16 KiB) and resumes on 'drain': at most ~16 KiB + one read (<= 64 KiB)
//     queued per direction.
//   * errors: an error or reset on either socket, a failed backend connect, or the idle timeout destroys
//     both sockets.
//   * the reused read buffer is never overwritten while a write still references it: if a write did not
//     complete synchronously (its bytes are still queued), the next read gets a fresh buffer.
import net from 'node:net';

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name, def) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.slice(name.length + 3));
};
const positional = args.filter((x) => !x.startsWith('--'));
if (positional.length !== 2) {
  console.error('usage: node fast-relay.mjs [flags] LISTEN_PORT BACKEND_HOST:BACKEND_PORT');
  process.exit(2);
}
const known = ['client-onread', 'pipe', 'no-onread', 'no-nodelay', 'no-pause-on-connect', 'no-direct-close', 'timer-per-socket', 'closures', 'eager-listeners'];
for (const a of args) {
  if (a.startsWith('--') && !known.includes(a.slice(2)) && !/^--(idle|max-conns|backlog|buffer|hwm)=\d+$/.test(a)) {
    console.error(`fast-relay: unknown flag ${a}`);
    process.exit(2);
  }
}
const PIPE = flag('pipe');
const ONREAD = !flag('no-onread') && !PIPE;
const CLIENT_ONREAD = flag('client-onread') && ONREAD;
const NODELAY = !flag('no-nodelay');
const PAUSE_ON_CONNECT = !flag('no-pause-on-connect');
const DIRECT_CLOSE = !flag('no-direct-close');
const TIMER_PER_SOCKET = flag('timer-per-socket');
const CLOSURES = flag('closures');
const EAGER = flag('eager-listeners') || CLOSURES;
const IDLE_MS = opt('idle', 60000);
const MAX_CONNS = opt('max-conns', 10000);
const BACKLOG = opt('backlog', 4096);
const BUF_SIZE = opt('buffer', 65536);
const HWM = opt('hwm', 16384);

const listenPort = Number(positional[0]);
const i = positional[1].lastIndexOf(':');
const HOST = positional[1].slice(0, i);
const PORT = Number(positional[1].slice(i + 1));

const PEER = Symbol('peer');
const GOT_EOF = Symbol('gotEof'); // this socket has delivered EOF (its peer sent FIN)
const PAIR = Symbol('pair');

// ---- the reused read buffer (onread) ------------------------------------------------------------------
// Each onread socket owns one buffer, reused read after read. It is NOT shared between sockets: node keeps
// the buffer a socket will read into next from the moment its previous read returns, so a buffer shared by
// several sockets could be read into by one while a queued write of another still points at it (an earlier
// version of this file did that and corrupted data under backpressure; test/forward/accept.test.ts). The
// onread callback runs right before node asks for the next buffer, for the same socket, so it leaves the
// answer in `next`: the same buffer if its bytes were written synchronously, else (the write queue owns
// it now) a fresh one.
let next = null;
function readBuffer() {
  const b = next ?? Buffer.allocUnsafe(BUF_SIZE);
  next = null;
  return b;
}
// ---- one sweep timer for idle connections ---------------------------------------------------------------
let tick = 0; // coarse clock, advanced by the sweep timer
const pairs = new Set();
if (IDLE_MS > 0 && !TIMER_PER_SOCKET && !PIPE) {
  const step = Math.max(100, Math.floor(IDLE_MS / 4));
  const limit = Math.ceil(IDLE_MS / step);
  setInterval(() => {
    tick++;
    for (const p of pairs) {
      if (tick - p.t > limit) {
        pairs.delete(p);
        p.client.destroy();
        p.upstream.destroy();
      }
    }
  }, step).unref();
}

// ---- shared handlers (this = the socket the event is on) ------------------------------------------------
// By default a pair carries few listeners: 'data'/'end'/'error' on both sockets, 'close' on the client only,
// 'connect' on the backend socket, and 'drain' only while a direction is paused (--eager-listeners: 'drain'
// and 'close' on both sockets from the start, and once('connect')).
function onData(chunk) {
  // client -> backend (and backend -> client without onread)
  if (this[PAIR] !== undefined) this[PAIR].t = tick;
  const peer = this[PEER];
  if (!peer.write(chunk)) {
    this.pause();
    if (!EAGER) peer.once('drain', onDrain);
  }
}
function onUserRead(n, buf) {
  // onread callback of either socket; this = the socket that read
  const peer = this[PEER];
  if (this[PAIR] !== undefined) this[PAIR].t = tick;
  const ok = peer.write(n === buf.length ? buf : buf.subarray(0, n));
  if (peer.writableLength === 0) next = buf;
  if (!ok && !EAGER) peer.once('drain', onDrain);
  return ok; // false: pause this socket until its peer drains
}
function onDrain() {
  this[PEER].resume();
} // this = the drained socket; resume its source
function onEnd() {
  // this socket got FIN: forward it
  this[GOT_EOF] = true;
  const peer = this[PEER];
  if (DIRECT_CLOSE && peer[GOT_EOF] && peer.writableLength === 0) {
    // The peer already sent its FIN and has nothing left to write to: close() sends our FIN without a
    // separate shutdown(). Its receive queue is empty (EOF was read), so close() does not reset.
    // This socket closes itself right after this handler (autoDestroy: read side ended, write side
    // finished or finishing).
    peer.destroy();
  } else {
    peer.end();
  }
}
function onError() {
  this[PEER].destroy();
} // reset, refused connect, ...: drop the other side too
function onClose(hadError) {
  const peer = this[PEER];
  if (this[PAIR] !== undefined) pairs.delete(this[PAIR]);
  // An error/reset, or a close while the peer still waits for our side: drop the peer. A clean close
  // (both directions done) leaves the peer to finish flushing and close on its own.
  if (hadError || !this[GOT_EOF] || !peer.writableEnded) peer.destroy();
}
function onConnect() {
  this[PEER].resume();
}
function onTimeout() {
  this.destroy();
  this[PEER].destroy();
}

const connectOpts = { host: HOST, port: PORT, allowHalfOpen: true, noDelay: NODELAY, writableHighWaterMark: HWM };
if (ONREAD) connectOpts.onread = { buffer: readBuffer, callback: onUserRead };

function relayManual(client) {
  const upstream = net.connect(connectOpts);
  client[PEER] = upstream;
  upstream[PEER] = client;
  client[GOT_EOF] = false;
  upstream[GOT_EOF] = false;
  if (IDLE_MS > 0 && !TIMER_PER_SOCKET) {
    const p = { t: tick, client, upstream };
    client[PAIR] = p;
    upstream[PAIR] = p;
    pairs.add(p);
  }
  if (CLOSURES) {
    client.on('data', (d) => {
      if (!upstream.write(d)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    client.on('end', () => onEnd.call(client));
    upstream.on('end', () => onEnd.call(upstream));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', (e) => onClose.call(client, e));
    upstream.on('close', (e) => onClose.call(upstream, e));
    if (!ONREAD)
      upstream.on('data', (d) => {
        if (!client.write(d)) upstream.pause();
      });
    client.on('drain', () => upstream.resume());
    if (PAUSE_ON_CONNECT) upstream.once('connect', () => client.resume());
  } else {
    if (!CLIENT_ONREAD) client.on('data', onData);
    if (!ONREAD) upstream.on('data', onData);
    client.on('end', onEnd);
    upstream.on('end', onEnd);
    client.on('error', onError);
    upstream.on('error', onError);
    client.on('close', onClose);
    if (EAGER) {
      upstream.on('drain', onDrain);
      client.on('drain', onDrain);
      upstream.on('close', onClose);
      if (PAUSE_ON_CONNECT) upstream.once('connect', onConnect);
    } else if (PAUSE_ON_CONNECT) {
      upstream.on('connect', onConnect); // fires once; on() avoids once()'s wrapper
    }
  }
  if (TIMER_PER_SOCKET && IDLE_MS > 0) {
    client.setTimeout(IDLE_MS);
    upstream.setTimeout(IDLE_MS);
    client.on('timeout', onTimeout);
    upstream.on('timeout', onTimeout);
  }
}

function relayPipe(client) {
  // the same semantics (half-close, errors, idle timeout) with stream.pipe()
  const upstream = net.connect(connectOpts);
  client.pipe(upstream); // pipe() ends the destination when the source ends: half-close is forwarded
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', (hadError) => {
    if (hadError) upstream.destroy();
  });
  upstream.on('close', (hadError) => {
    if (hadError) client.destroy();
  });
  if (IDLE_MS > 0) {
    client.setTimeout(IDLE_MS, () => {
      client.destroy();
      upstream.destroy();
    });
  }
}

const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: PAUSE_ON_CONNECT && !PIPE, noDelay: NODELAY, highWaterMark: HWM }, PIPE ? relayPipe : relayManual);
server.maxConnections = MAX_CONNS;
server.on('error', (e) => {
  console.error(`fast-relay: ${e.message}`);
  process.exit(1);
});
server.listen({ host: '127.0.0.1', port: listenPort, backlog: BACKLOG }, () => {
  if (CLIENT_ONREAD) {
    // Build the accepted socket ourselves so that it can take onread (net.Server has no such option).
    server._handle.onconnection = (err, handle) => {
      if (err) return;
      if (server._connections >= MAX_CONNS) {
        handle.close();
        return;
      }
      const socket = new net.Socket({
        handle,
        allowHalfOpen: true,
        pauseOnCreate: PAUSE_ON_CONNECT,
        readable: true,
        writable: true,
        readableHighWaterMark: HWM,
        writableHighWaterMark: HWM,
        onread: { buffer: readBuffer, callback: onUserRead },
      });
      if (NODELAY) socket.setNoDelay(true);
      server._connections++;
      socket.server = server;
      socket._server = server;
      relayManual(socket);
    };
  }
  const flags = args.filter((a) => a.startsWith('--')).join(' ');
  console.log(`fast-relay 127.0.0.1:${listenPort} -> ${HOST}:${PORT}${flags ? ` (${flags})` : ''}`);
});
process.on('SIGTERM', () => process.exit(0));
