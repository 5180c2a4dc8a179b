// A naive dns2 3.1.1 UDP server answering www.gslb.example.com A, the way its README shows.
// It exists only as a reference point for `npm run bench:dns` (see src/dns/README.md).
import dns2 from 'dns2';
const { Packet } = dns2;
const port = Number(process.argv[2] ?? 1055);
const server = dns2.createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 300, address: '192.0.2.10' });
    send(response);
  },
});
server.listen({ udp: { port, address: '127.0.0.1' } });
console.log('ready');
