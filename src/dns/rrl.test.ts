/**
 * The response rate limiter and the per-netblock error cap with an injected clock: window floor,
 * slip counting, kinds, netblock keys, exempt clients, the table bound and log-only mode.
 * The wire behaviour (TC=1 slips, real sockets, TCP exempt) is test/wire/rrl.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCap } from './error-cap.js';
import { ClientPrefixes, describePrefix, ipv4Number } from './prefix.js';
import { bucketOf, ResponseRateLimiter, RrlAction, RrlKind, rrlEnabled, type RrlSettings } from './rrl.js';
import { DnsStats } from './stats.js';

const BASE: RrlSettings = {
  responsesPerSecond: 5,
  allPerSecond: 0,
  window: 15,
  slip: 2,
  ipv4PrefixLength: 24,
  ipv6PrefixLength: 56,
  exemptClients: [],
  logOnly: false,
  tableSize: 20_000,
};

const NAME = bucketOf(RrlKind.answer, 'www');
const LETTER = { [RrlAction.send]: 'S', [RrlAction.drop]: 'D', [RrlAction.slip]: 'T', [RrlAction.leak]: 'L' } as const;

function limiter(over: Partial<RrlSettings> = {}) {
  const clock = { t: 1_000 };
  const stats = new DnsStats();
  const reports: string[] = [];
  const rrl = new ResponseRateLimiter({ ...BASE, ...over }, stats, { now: () => clock.t, onLimited: (e) => reports.push(`${e.prefix} ${e.kind}${e.logOnly ? ' log-only' : ''}`) });
  /** `n` responses at the current time, as letters: S send, D drop, T slip (TC=1), L leak. */
  const burst = (n: number, source = '192.0.2.1', kind: RrlKind = RrlKind.answer, bucket = NAME): string => {
    let out = '';
    for (let i = 0; i < n; i++) out += LETTER[rrl.check(source, kind, bucket)];
    return out;
  };
  return { clock, stats, reports, rrl, burst };
}

describe('response rate limiter (injected clock)', () => {
  test('rate 5: five answers, then slip 2 alternates TC=1 and drop; counters match', () => {
    const { burst, stats } = limiter();
    assert.equal(burst(11), 'SSSSSTDTDTD');
    assert.deepEqual([stats.rrlSlipped, stats.rrlDropped, stats.rrlLeaked], [3, 3, 0]);
  });

  const slips: [number, string][] = [
    [0, 'SSSSSDDDDDDD'],
    [1, 'SSSSSTTTTTTT'],
    [2, 'SSSSSTDTDTDT'],
    [3, 'SSSSSTDDTDDT'],
  ];
  for (const [slip, want] of slips) test(`slip ${slip}: ${want}`, () => assert.equal(limiter({ slip }).burst(12), want));

  test('time credits the rate: one response every 1/rate seconds is never limited', () => {
    const { burst, clock } = limiter();
    let out = '';
    for (let i = 0; i < 50; i++) {
      out += burst(1);
      clock.t += 200;
    }
    assert.equal(out, 'S'.repeat(50));
  });

  test('window floor: a flood of any size is answered again about `window` s after it stops', () => {
    for (const flood of [25, 100_000]) {
      const { burst, clock } = limiter({ window: 4, slip: 0 });
      burst(flood);
      // The balance stopped at -window*rate = -20: 3.9 s of credit (19.5) does not bring it to 0 ...
      clock.t += 3_900;
      assert.equal(burst(1), 'D', `flood ${flood}, 3.9 s later`);
      // ... and an account idle for longer than the window starts afresh.
      clock.t += 4_001;
      assert.equal(burst(6), 'SSSSSD', `flood ${flood}, after the window`);
    }
  });

  test('a sustained flood is limited while it lasts (the debt is not forgiven each second)', () => {
    const { burst, clock } = limiter({ slip: 0 });
    let sent = 0;
    for (let s = 0; s < 10; s++) {
      sent += [...burst(100)].filter((c) => c === 'S').length;
      clock.t += 1_000;
    }
    assert.equal(sent, 5);
  });

  test('errors are leaked at the slip rate instead of slipped', () => {
    const { burst, stats } = limiter({ slip: 3 });
    assert.equal(burst(11, '192.0.2.1', RrlKind.error, bucketOf(RrlKind.error, '')), 'SSSSSLDDLDD');
    assert.equal(stats.rrlLeaked, 2);
    assert.equal(stats.rrlSlipped, 0);
  });

  test('each kind has its own rate, defaulting to responsesPerSecond; 0 leaves it unlimited', () => {
    const { burst } = limiter({ nxdomainsPerSecond: 2, nodataPerSecond: 0, errorsPerSecond: 1 });
    assert.equal(burst(4, '192.0.2.1', RrlKind.nxdomain, bucketOf(RrlKind.nxdomain, 'zone')), 'SSTD');
    assert.equal(burst(20, '192.0.2.1', RrlKind.nodata, bucketOf(RrlKind.nodata, 'x')), 'S'.repeat(20));
    assert.equal(burst(3, '192.0.2.1', RrlKind.error, bucketOf(RrlKind.error, '')), 'SLD');
    assert.equal(burst(7, '192.0.2.1', RrlKind.referral, bucketOf(RrlKind.referral, 'sub')), 'SSSSSTD');
  });

  test('buckets: different names are separate accounts; the same name of another kind too', () => {
    const { burst } = limiter({ slip: 0 });
    assert.equal(burst(6), 'SSSSSD');
    assert.equal(burst(5, '192.0.2.1', RrlKind.answer, bucketOf(RrlKind.answer, 'api')), 'SSSSS');
    assert.equal(burst(5, '192.0.2.1', RrlKind.nodata, bucketOf(RrlKind.nodata, 'www')), 'SSSSS');
  });

  test('allPerSecond counts every response to the netblock and always drops, never slips', () => {
    const { burst } = limiter({ responsesPerSecond: 100, allPerSecond: 4, slip: 1 });
    let out = '';
    for (let i = 0; i < 6; i++) out += burst(1, '192.0.2.1', RrlKind.answer, bucketOf(RrlKind.answer, `n${i}`));
    assert.equal(out, 'SSSSDD');
  });

  test('netblocks: /24 and /56 by default, configurable', () => {
    const { burst } = limiter({ slip: 0 });
    assert.equal(burst(3, '192.0.2.1') + burst(3, '192.0.2.250'), 'SSSSSD');
    assert.equal(burst(5, '192.0.3.1'), 'SSSSS', 'another /24');
    assert.equal(burst(3, '2001:db8:0:ff::1') + burst(3, '2001:db8:0:99::2'), 'SSSSSD', 'one /56');
    assert.equal(burst(5, '2001:db8:0:100::1'), 'SSSSS', 'another /56');
    const narrow = limiter({ slip: 0, ipv4PrefixLength: 32, ipv6PrefixLength: 128 });
    assert.equal(narrow.burst(6, '192.0.2.1') + narrow.burst(5, '192.0.2.2'), 'SSSSSDSSSSS');
  });

  test('exempt clients are never limited and hold no account', () => {
    const { burst, rrl } = limiter({ exemptClients: ['192.0.2.7', '198.51.100.0/24', '2001:db8::/32'] });
    assert.equal(burst(20, '192.0.2.7'), 'S'.repeat(20));
    assert.equal(burst(20, '198.51.100.99'), 'S'.repeat(20));
    assert.equal(burst(20, '2001:db8:1::1'), 'S'.repeat(20));
    assert.equal(rrl.size, 0);
    assert.equal(burst(7, '192.0.2.8'), 'SSSSSTD', 'the rest of its /24 is limited');
  });

  test('the table is bounded: a random-source flood evicts, and the evictions are counted', () => {
    const { burst, rrl, stats } = limiter({ tableSize: 100 });
    for (let i = 0; i < 1_000; i++) burst(1, `10.${i >> 8}.${i & 255}.1`);
    assert.equal(rrl.size, 100);
    assert.equal(stats.rrlAccounts, 100);
    assert.equal(stats.rrlEvictions, 900);
  });

  test('a limited account is evicted last: it keeps its debt while idle accounts come and go', () => {
    const { burst } = limiter({ tableSize: 100, slip: 0 });
    burst(10, '192.0.2.1');
    for (let i = 0; i < 99; i++) burst(1, `10.0.${i}.1`);
    burst(1, '192.0.2.1');
    for (let i = 99; i < 150; i++) burst(1, `10.0.${i}.1`);
    assert.equal(burst(1, '192.0.2.1'), 'D');
  });

  test('log-only: counts and reports what would be limited, answers everything', () => {
    const { burst, stats, reports, clock } = limiter({ logOnly: true });
    assert.equal(burst(100), 'S'.repeat(100));
    assert.deepEqual([stats.rrlLogged, stats.rrlDropped, stats.rrlSlipped], [95, 0, 0]);
    assert.deepEqual(reports, ['192.0.2.0/24 answer log-only'], 'once per netblock per log period, never per packet');
    clock.t += 31_000;
    burst(100);
    assert.equal(reports.length, 2);
  });

  test('limiting is reported once per netblock per 30 s period', () => {
    const { burst, reports, clock } = limiter();
    burst(50);
    burst(50, '2001:db8:0:ff::1');
    clock.t += 10_000;
    burst(50);
    assert.deepEqual(reports, ['192.0.2.0/24 answer', '2001:db8::/56 answer']);
  });

  test('on only when some rate is set (all 0 is BIND default: off)', () => {
    assert.equal(rrlEnabled({ ...BASE, responsesPerSecond: 0 }), false);
    assert.equal(rrlEnabled({ ...BASE, responsesPerSecond: 0, allPerSecond: 10 }), true);
    assert.equal(rrlEnabled({ ...BASE, responsesPerSecond: 0, errorsPerSecond: 5 }), true);
  });
});

describe('client netblocks', () => {
  test('ipv4Number accepts dotted quads only', () => {
    assert.equal(ipv4Number('192.0.2.1'), 0xc0000201);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.4 ', '::1', '1234.1.1.1']) assert.equal(ipv4Number(bad), -1, bad);
  });

  test('keys and their readable form', () => {
    const p = new ClientPrefixes(24, 56);
    assert.equal(describePrefix(p.keyOf('192.0.2.77')!, 24, 56), '192.0.2.0/24');
    assert.equal(p.keyOf('::ffff:192.0.2.77'), p.keyOf('192.0.2.1'), 'IPv4-mapped is its IPv4 netblock');
    assert.equal(describePrefix(p.keyOf('2001:db8:ab:cdef::1')!, 24, 56), '2001:db8:ab:cd00::/56');
    assert.equal(p.keyOf('fe80::1%eth0'), p.keyOf('fe80::2'));
    const odd = new ClientPrefixes(20, 60);
    assert.equal(describePrefix(odd.keyOf('192.0.31.1')!, 20, 60), '192.0.16.0/20');
    assert.notEqual(odd.keyOf('2001:db8:0:10::1'), odd.keyOf('2001:db8::1'));
    assert.equal(odd.keyOf('2001:db8:0:f::1'), odd.keyOf('2001:db8:0:0::1'));
  });
});

describe('error cap per netblock', () => {
  test('one flooding /24 does not use up another /24 allowance; a second later it is refilled', () => {
    const clock = { t: 0 };
    const stats = new DnsStats();
    const cap = new ErrorCap(3, new ClientPrefixes(24, 56), 100, stats, () => clock.t);
    const run = (n: number, source: string): string => Array.from({ length: n }, () => (cap.allow(source) ? 'y' : 'n')).join('');
    assert.equal(run(5, '127.0.0.1') + run(1, '127.0.0.200'), 'yyynnn');
    assert.equal(run(3, '127.0.1.1'), 'yyy');
    clock.t += 1_000;
    assert.equal(run(4, '127.0.0.9'), 'yyyn');
  });

  test('bounded: the table is emptied when full, and that is counted', () => {
    const stats = new DnsStats();
    const cap = new ErrorCap(3, new ClientPrefixes(24, 56), 100, stats, () => 0);
    for (let i = 0; i < 250; i++) cap.allow(`10.0.${i}.1`);
    assert.equal(stats.errorCapClears, 2);
  });
});
