// EXPERIMENT (research; the product version is src/forward/fast-lane.ts): the same relay written on Node's internal libuv handle bindings
// (process.binding('tcp_wrap') / ('stream_wrap'), the layer under net.Socket), with no net.Socket and no
// Readable/Writable streams at all. It exists to measure how much of a node relay's CPU goes to the
// stream layer and how much to libuv + the kernel (bench/forward/README.md, "Relay research").
// process.binding is deprecated (DEP0111) and these handle APIs are internal and change between Node
// majors (written against Node 20). The forwarder's fast lane (src/forward/fast-lane.ts) is this relay
// made production-grade: bindings checked at load with a net.Socket fallback, timeouts, metrics, tests.
//
// Usage: node raw-relay.mjs LISTEN_PORT BACKEND_HOST:BACKEND_PORT   (listens on 127.0.0.1)
// Semantics: half-close forwarded (a FIN becomes a shutdown() once the writes before it are done; libuv's
// uv_shutdown waits for queued writes); backpressure: a source stops reading while a write of its data
// to the other side is still queued (at most one read chunk, <= 64 KiB, queued per direction); a read
// error, reset or failed connect closes both. No idle timeout (not needed for the measurement).
const { TCP, TCPConnectWrap, constants: TCPConstants } = process.binding('tcp_wrap');
const { WriteWrap, ShutdownWrap, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync, streamBaseState } = process.binding('stream_wrap');
const { UV_EOF } = process.binding('uv');

const [listenPort, backend] = process.argv.slice(2);
if (!listenPort || !backend) {
  console.error('usage: node raw-relay.mjs LISTEN_PORT BACKEND_HOST:BACKEND_PORT');
  process.exit(2);
}
const HOST = backend.slice(0, backend.lastIndexOf(':'));
const PORT = Number(backend.slice(backend.lastIndexOf(':') + 1));

class Pair {
  constructor(client, upstream) {
    this.client = client;
    this.upstream = upstream;
    this.eofs = 0; // FINs received (0..2)
    this.shuts = 0; // shutdowns completed (0..2)
    this.closed = false;
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    this.upstream.close();
  }
}

function onRead(arrayBuffer) {
  // this = the handle that read
  const nread = streamBaseState[kReadBytesOrError];
  const pair = this.pair;
  if (pair.closed) return;
  if (nread > 0) {
    const peer = this.peer;
    const buf = Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], nread);
    const req = new WriteWrap();
    req.handle = peer;
    req.oncomplete = afterWrite;
    req.async = false;
    req.buffer = buf; // keep the bytes alive while the write is queued
    req.source = this;
    const err = peer.writeBuffer(req, buf);
    if (err !== 0) {
      pair.close();
      return;
    }
    if (streamBaseState[kLastWriteWasAsync]) {
      req.async = true;
      this.readStop();
    } // backpressure
    return;
  }
  if (nread === 0) return;
  if (nread === UV_EOF) {
    // FIN from this side: pass it on after the queued writes (uv_shutdown waits for them)
    pair.eofs++;
    const req = new ShutdownWrap();
    req.oncomplete = afterShutdown;
    req.handle = this.peer;
    if (this.peer.shutdown(req) !== 0) pair.close();
    return;
  }
  pair.close(); // read error (reset, ...)
}
function afterWrite(status) {
  // this = the WriteWrap
  const src = this.source;
  if (status < 0) {
    src.pair.close();
    return;
  }
  if (this.async && !src.pair.closed) src.readStart();
}
function afterShutdown(status) {
  // this = the ShutdownWrap
  const pair = this.handle.pair;
  if (status < 0) {
    pair.close();
    return;
  }
  if (++pair.shuts === 2 && pair.eofs === 2) pair.close();
}
function afterConnect(status, upstream) {
  const pair = upstream.pair;
  if (status < 0) {
    pair.close();
    return;
  }
  if (pair.closed) return;
  upstream.readStart();
  pair.client.readStart();
}

const server = new TCP(TCPConstants.SERVER);
server.onconnection = (err, client) => {
  if (err) return;
  const upstream = new TCP(TCPConstants.SOCKET);
  const pair = new Pair(client, upstream);
  client.pair = pair;
  upstream.pair = pair;
  client.peer = upstream;
  upstream.peer = client;
  client.onread = onRead;
  upstream.onread = onRead;
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const req = new TCPConnectWrap();
  req.oncomplete = afterConnect;
  req.address = HOST;
  req.port = PORT;
  if (upstream.connect(req, HOST, PORT) !== 0) pair.close();
};
let err = server.bind('127.0.0.1', Number(listenPort));
if (err === 0) err = server.listen(4096);
if (err !== 0) {
  console.error(`raw-relay: cannot listen (${err})`);
  process.exit(1);
}
console.log(`raw-relay 127.0.0.1:${listenPort} -> ${HOST}:${PORT} (internal bindings, experiment)`);
process.on('SIGTERM', () => process.exit(0));
