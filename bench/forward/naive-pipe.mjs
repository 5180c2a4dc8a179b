// A naive L4 TCP forwarder: one node:net server, one connection to the backend per client connection,
// socket.pipe() both ways. Reference row of bench/forward (what "just pipe it" costs), and the stand-in
// for Meridian's forwarder (FORWARDER=naive) until `meridian forward` exists.
// Usage: node naive-pipe.mjs LISTEN_PORT BACKEND_HOST:BACKEND_PORT   (listens on 127.0.0.1)
import net from 'node:net';

const [listenPort, backend] = process.argv.slice(2);
if (!listenPort || !backend) {
  console.error('usage: node naive-pipe.mjs LISTEN_PORT BACKEND_HOST:BACKEND_PORT');
  process.exit(2);
}
const i = backend.lastIndexOf(':');
const host = backend.slice(0, i);
const port = Number(backend.slice(i + 1));

const server = net.createServer((client) => {
  const upstream = net.connect(port, host);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.listen(Number(listenPort), '127.0.0.1', () => console.log(`naive-pipe 127.0.0.1:${listenPort} -> ${host}:${port}`));
process.on('SIGTERM', () => process.exit(0));
