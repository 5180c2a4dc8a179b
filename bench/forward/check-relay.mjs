// Correctness checks for a relay of bench/forward (fast-relay.mjs with any flags, naive-pipe.mjs), so that
// "fast" never means "wrong". Starts the relay as a child process in front of test backends on 127.0.0.1.
// Usage: node bench/forward/check-relay.mjs [fast-relay.mjs|naive-pipe.mjs] [relay flags...]
// Exit status 1 if any check fails. Every check is bounded by a timeout.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, process.argv[2] ?? 'fast-relay.mjs');
const relayFlags = process.argv.slice(3);
const sha = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))]);

function listen(handler, opts = { allowHalfOpen: true }) {
  return new Promise((resolve) => {
    const s = net.createServer(opts, handler);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}
const freePort = async () => {
  const s = await listen(() => {});
  const p = s.address().port;
  s.close();
  return p;
};

async function startRelay(backendPort, extra = []) {
  const port = await freePort();
  const child = spawn(process.execPath, [script, ...relayFlags, ...extra, String(port), `127.0.0.1:${backendPort}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await withTimeout(new Promise((res) => child.stdout.once('data', res)), 10000, 'relay start');
  return { port, child, rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) };
}
const connect = (port) =>
  new Promise((res, rej) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => res(c));
    c.once('error', rej);
  });
// closed by the other side: 'end' (FIN; these test sockets allow half-open, so no 'close' follows by
// itself), 'close' or an error (reset)
const gone = (sock) =>
  new Promise((res) => {
    sock.once('end', res);
    sock.once('close', res);
    sock.on('error', res);
    sock.resume();
  });
const readAll = (sock) =>
  new Promise((res, rej) => {
    const parts = [];
    sock.on('data', (d) => parts.push(d));
    sock.once('end', () => res(Buffer.concat(parts)));
    sock.once('error', rej);
  });

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

// 1. Client half-close: the client sends, then FIN; the backend answers only after the FIN (echo of all
//    it read). Needs the client's FIN forwarded while the backend -> client direction stays open.
check('client FIN forwarded, response after it arrives (half-close)', async () => {
  const backend = await listen((s) => {
    readAll(s).then((b) => {
      s.end(sha(b));
    });
  });
  const relay = await startRelay(backend.address().port);
  try {
    const data = randomBytes(1 << 20);
    const c = await connect(relay.port);
    c.end(data);
    const got = (await withTimeout(readAll(c), 5000, 'response after FIN')).toString();
    if (got !== sha(data)) throw new Error(`backend saw ${got}, want ${sha(data)}`);
  } finally {
    relay.child.kill();
    backend.close();
  }
});

// 2. Backend half-close: the backend sends and FINs first, then still reads what the client sends after
//    that FIN.
check('backend FIN forwarded, client data after it still delivered (half-close)', async () => {
  let seen;
  const backend = await listen((s) => {
    s.end('hello');
    seen = readAll(s);
  });
  const relay = await startRelay(backend.address().port);
  try {
    const c = await connect(relay.port);
    const got = (await withTimeout(readAll(c), 5000, 'backend FIN')).toString();
    if (got !== 'hello') throw new Error(`got ${got}`);
    const late = randomBytes(100000);
    c.end(late);
    const b = await withTimeout(seen, 5000, 'late client data at the backend');
    if (sha(b) !== sha(late)) throw new Error('late data differs');
  } finally {
    relay.child.kill();
    backend.close();
  }
});

// 3. Bounded buffering: the backend pushes 256 MiB as fast as it can to a client that does not read for
//    1.5 s. The relay's RSS may not grow by more than 32 MiB; then every byte must arrive intact.
check('backpressure: slow reader, bounded relay memory, data intact', async () => {
  const total = 256 << 20;
  const chunk = randomBytes(1 << 16);
  const backend = await listen((s) => {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  const relay = await startRelay(backend.address().port);
  try {
    const rss0 = relay.rssKiB();
    const c = await connect(relay.port);
    c.pause();
    await sleep(1500);
    const grown = (relay.rssKiB() - rss0) / 1024;
    if (grown > 32) throw new Error(`relay RSS grew by ${grown.toFixed(1)} MiB while the client did not read`);
    const h = createHash('sha256');
    let n = 0;
    const expect = createHash('sha256');
    for (let i = 0; i < total / chunk.length; i++) expect.update(chunk);
    await withTimeout(
      new Promise((res, rej) => {
        c.on('data', (d) => {
          h.update(d);
          n += d.length;
        });
        c.once('end', res);
        c.once('error', rej);
        c.resume();
      }),
      30000,
      'bulk transfer',
    );
    if (n !== total || h.digest('hex') !== expect.digest('hex')) throw new Error(`got ${n} bytes, want ${total}, or content differs`);
    return `RSS +${grown.toFixed(1)} MiB while stalled`;
  } finally {
    relay.child.kill();
    backend.close();
  }
});

// 3b. The other direction: the client pushes 256 MiB to a backend that does not read for 1.5 s.
check('backpressure: slow backend, bounded relay memory, data intact', async () => {
  const total = 256 << 20;
  const chunk = randomBytes(1 << 16);
  let result;
  const backend = await listen((s) => {
    s.pause();
    result = new Promise((res, rej) => {
      const h = createHash('sha256');
      let n = 0;
      setTimeout(() => {
        s.on('data', (d) => {
          h.update(d);
          n += d.length;
        });
        s.resume();
      }, 1500);
      s.once('end', () => {
        s.end();
        res({ n, digest: h.digest('hex') });
      });
      s.once('error', rej);
    });
  });
  const relay = await startRelay(backend.address().port);
  try {
    const rss0 = relay.rssKiB();
    const c = await connect(relay.port);
    c.on('error', () => {});
    c.resume();
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!c.write(chunk)) {
          c.once('drain', pump);
          return;
        }
      }
      c.end();
    };
    pump();
    await sleep(1200);
    const grown = (relay.rssKiB() - rss0) / 1024;
    if (grown > 32) throw new Error(`relay RSS grew by ${grown.toFixed(1)} MiB while the backend did not read`);
    await sleep(400);
    const expect = createHash('sha256');
    for (let i = 0; i < total / chunk.length; i++) expect.update(chunk);
    const r = await withTimeout(result, 30000, 'bulk upload');
    if (r.n !== total || r.digest !== expect.digest('hex')) throw new Error(`backend got ${r.n} bytes, want ${total}, or content differs`);
    return `RSS +${grown.toFixed(1)} MiB while stalled`;
  } finally {
    relay.child.kill();
    backend.close();
  }
});

// 4. Backend refuses: the client connection must be closed promptly.
check('backend connect refused -> client closed', async () => {
  const dead = await freePort();
  const relay = await startRelay(dead);
  try {
    const c = await connect(relay.port);
    c.write('x');
    await withTimeout(gone(c), 3000, 'client close');
  } finally {
    relay.child.kill();
  }
});

// 5. Client reset: the backend connection must be closed promptly.
check('client reset -> backend connection closed', async () => {
  let closed;
  const backend = await listen((s) => {
    closed = gone(s);
  });
  const relay = await startRelay(backend.address().port);
  try {
    const c = await connect(relay.port);
    c.write('hello');
    await sleep(200);
    c.resetAndDestroy();
    await withTimeout(closed, 3000, 'backend close');
  } finally {
    relay.child.kill();
    backend.close();
  }
});

// 6. Idle timeout (fast-relay only): an idle pair is closed.
if (path.basename(script) === 'fast-relay.mjs') {
  check('idle connection closed (--idle=500)', async () => {
    const backend = await listen((s) => {
      s.on('error', () => {});
      s.resume();
    });
    const relay = await startRelay(backend.address().port, ['--idle=500']);
    try {
      const c = await connect(relay.port);
      c.write('hello');
      const t0 = Date.now();
      await withTimeout(gone(c), 4000, 'idle close');
      return `closed after ${Date.now() - t0} ms`;
    } finally {
      relay.child.kill();
      backend.close();
    }
  });
}

// 7. Many connections at once, each echoing 200 KiB in pieces, contents intact.
check('300 concurrent connections, echo 200 KiB each, intact', async () => {
  const backend = await listen((s) => {
    s.pipe(s);
    s.on('error', () => {});
  });
  const relay = await startRelay(backend.address().port);
  try {
    await withTimeout(
      Promise.all(
        Array.from({ length: 300 }, async () => {
          const data = randomBytes(200 << 10);
          const c = await connect(relay.port);
          const got = readAll(c);
          for (let o = 0; o < data.length; o += 7000) c.write(data.subarray(o, o + 7000));
          c.end();
          if (sha(await got) !== sha(data)) throw new Error('echo differs');
        }),
      ),
      30000,
      'concurrent echo',
    );
  } finally {
    relay.child.kill();
    backend.close();
  }
});

let failed = 0;
console.log(`check-relay: ${path.basename(script)} ${relayFlags.join(' ')}`);
for (const { name, fn } of checks) {
  try {
    const note = await fn();
    console.log(`  ok    ${name}${note ? ` (${note})` : ''}`);
  } catch (e) {
    failed++;
    console.log(`  FAIL  ${name}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
