// A bare node:dgram responder for `npm run bench:dns` (cold scenario): it sets QR on each query and
// sends it back, nothing else, with 4 MB socket buffers (as Meridian's UDP listener asks for). It is
// the ceiling a Node process reaches on this socket path: what the cold path is compared against.
import dgram from 'node:dgram';
const port = Number(process.argv[2] ?? 1056);
const socket = dgram.createSocket({ type: 'udp4', lookup: (address, _o, cb) => cb(null, address, 4) });
socket.on('message', (msg, rinfo) => {
  msg[2] |= 0x80;
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.bind(port, '127.0.0.1', () => {
  socket.setRecvBufferSize(4 * 1024 * 1024);
  socket.setSendBufferSize(4 * 1024 * 1024);
  console.log('ready');
});
