/**
 * RRL's log lines under a flood from many netblocks (fresh-eyes review of issue 16): each newly
 * limited netblock wrote one warn line, with no cap across netblocks, so a spoofed flood from many
 * /24s flooded the log. A real `meridian serve` (rate 1, slip 2), 100 netblocks (127.0.x.1 for
 * x = 100..199) each sending 5 queries: at most 10 netblock lines per 10 s window, and the rest
 * counted in a "not logged" summary line once the window ends, so every limited netblock is
 * either named or counted. Counts only: the flood takes well under a window on any machine, two
 * windows are allowed for one that is slow.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { query } from '../helpers/client.js';
import { startMeridian } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';

const Z = 'rrl-log.test';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n`;
const NETBLOCKS = 100;

/** `count` queries from `from` to the node, one after another (each waits up to 100 ms for its reply). */
async function burst(from: string, port: number, count: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, from, () => r()));
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        sock.once('message', () => (clearTimeout(timer), resolve()));
        sock.send(query(`www.${Z}`, 'A', { id: i + 1 }), port, '127.0.0.1');
      });
    }
  } finally {
    sock.close();
  }
}

test('a flood from 100 netblocks writes at most 10 lines per 10 s window, and counts the rest', async (t) => {
  const srv = await startMeridian({ zones: [{ origin: Z, text: ZONE }], dns: { rrl: { responsesPerSecond: 1, window: 5 } } });
  t.after(() => srv.stop());
  const limitedLines = (): string[] =>
    srv
      .output()
      .split('\n')
      .filter((l) => l.includes('"rate limiting responses to this netblock"'));
  const summaries = (): { suppressed: number }[] =>
    srv
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"rate limiting: netblocks limited but not logged'))
      .map((l) => JSON.parse(l) as { suppressed: number });
  for (let x = 0; x < NETBLOCKS; x += 10) await Promise.all(Array.from({ length: 10 }, (_, i) => burst(`127.0.${100 + x + i}.1`, srv.port, 5)));

  const counted = (): number => limitedLines().length + summaries().reduce((n, s) => n + s.suppressed, 0);
  await until(() => counted() >= NETBLOCKS, 30_000, 'every limited netblock logged or counted in a summary');
  const lines = limitedLines();
  t.diagnostic(`${lines.length} netblock lines, summaries ${JSON.stringify(summaries())}`);
  assert.equal(counted(), NETBLOCKS, 'each limited netblock once: named in a line or counted in a summary');
  assert.ok(lines.length >= 10 && lines.length <= 20, `${lines.length} netblock lines: 10 per window`);
  assert.ok(summaries().length >= 1 && summaries().length <= 2, 'one summary per window with lines left out');
  assert.equal(new Set(lines.map((l) => (JSON.parse(l) as { prefix: string }).prefix)).size, lines.length, 'no netblock named twice');
});
