/**
 * Response rate limiting (RRL) for UDP answers, with BIND 9's semantics (ARM "Response Rate
 * Limiting"; Knot's mod-rrl and NSD work alike): responses to one client netblock are counted per
 * identical response, and past the rate a response is dropped or "slipped" (sent as a minimal
 * TC=1 answer, so a real client behind a spoofed source retries over TCP, which cannot be spoofed).
 *
 * An account holds a balance of responses: it starts at `rate`, every response costs one, and
 * time credits `rate` per second up to `rate`. Below zero the response is limited; the balance
 * can fall to -window*rate at most, so a flooded netblock is answered again about `window`
 * seconds after the flood stops, and not while it goes on. Accounts are keyed by netblock + a
 * bucket the responder names per prepared answer (`bucketOf`): a positive answer by QNAME and
 * QTYPE, NODATA by QNAME, NXDOMAIN by the enclosing zone (random subnames are one bucket), a
 * referral by the delegation point, every error by the netblock alone.
 * @module
 */
import { ClientPrefixes, describePrefix } from './prefix.js';
import type { DnsStats } from './stats.js';

/** Response kinds, each with its own rate (BIND: responses-, nodata-, nxdomains-, referrals-, errors-per-second). */
export const RrlKind = { answer: 0, nodata: 1, nxdomain: 2, referral: 3, error: 4 } as const;
export type RrlKind = (typeof RrlKind)[keyof typeof RrlKind];
const KIND_NAMES = ['answer', 'nodata', 'nxdomain', 'referral', 'error'] as const;
const KIND_TAGS = ['A', 'D', 'X', 'R', 'E'];

/** What the socket does with one response. */
export const RrlAction = { send: 0, drop: 1, slip: 2, leak: 3 } as const;
export type RrlAction = (typeof RrlAction)[keyof typeof RrlAction];

/** `dns.rrl` as loaded (src/config/schema.ts; keys, defaults and reasons in src/dns/README.md). */
export interface RrlSettings {
  responsesPerSecond: number;
  nxdomainsPerSecond?: number | undefined;
  nodataPerSecond?: number | undefined;
  referralsPerSecond?: number | undefined;
  errorsPerSecond?: number | undefined;
  allPerSecond: number;
  window: number;
  slip: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  exemptClients: string[];
  logOnly: boolean;
  tableSize: number;
}

/**
 * Log lines about limited netblocks, across all of them: at most this many per window, the rest
 * counted in one summary line (src/obs/log-budget.ts). BIND logs each limited entry and caps only
 * its "stop limiting" lines (8 a second); Knot 3.4 writes one line per `log-period` (30 s) for the
 * whole server. 10 per 10 s names the first netblocks of a flood, and bounds a sustained flood from
 * any number of netblocks to about one line a second.
 */
export const RRL_LOG_LINES = 10;
export const RRL_LOG_WINDOW_MS = 10_000;

/** One netblock's first limited response in a log period (at most one call per netblock per period). */
export type LimitedReport = (event: { prefix: string; kind: (typeof KIND_NAMES)[number]; logOnly: boolean }) => void;

export interface RrlOptions {
  /** Milliseconds on a monotonic clock (tests inject one). */
  now?: () => number;
  onLimited?: LimitedReport;
  /** Knot's `log-period`: 30 s. */
  logPeriodMs?: number;
}

interface Account {
  balance: number;
  /** When the balance was last credited (ms). */
  at: number;
  /** Limited responses since the last slip (BIND's slip_cnt). */
  slips: number;
}

/** The bucket name of a response kind: `name` is the QNAME (+QTYPE), zone or delegation point, or '' for errors. */
export function bucketOf(kind: RrlKind, name: string): string {
  return KIND_TAGS[kind] + name;
}

/** The rate of each kind: its own key, else responsesPerSecond (BIND's rule); 0 = not limited. */
function ratesOf(s: RrlSettings): number[] {
  const r = s.responsesPerSecond;
  return [r, s.nodataPerSecond ?? r, s.nxdomainsPerSecond ?? r, s.referralsPerSecond ?? r, s.errorsPerSecond ?? r];
}

/** True when the settings limit anything (all rates 0 is BIND's default: RRL off). */
export function rrlEnabled(s: RrlSettings): boolean {
  return s.allPerSecond > 0 || ratesOf(s).some((r) => r > 0);
}

const ALL_BUCKET = '*';

export class ResponseRateLimiter {
  private readonly accounts = new Map<string, Account>();
  private readonly reported = new Map<string, number>();
  private readonly prefixes: ClientPrefixes;
  private readonly rates: number[];
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly logPeriodMs: number;

  constructor(
    private readonly settings: RrlSettings,
    private readonly stats: DnsStats,
    private readonly opts: RrlOptions = {},
  ) {
    this.prefixes = new ClientPrefixes(settings.ipv4PrefixLength, settings.ipv6PrefixLength, settings.exemptClients);
    this.rates = ratesOf(settings);
    this.windowMs = settings.window * 1000;
    this.now = opts.now ?? (() => performance.now());
    this.logPeriodMs = opts.logPeriodMs ?? 30_000;
  }

  /**
   * The action for one UDP response of `kind` in `bucket` (bucketOf) to `source`. Errors are
   * never slipped: a TC=1 answer is no smaller than the error and REFUSED/SERVFAIL cannot be
   * replaced by one, so at the slip rate the error itself is sent ("leaked", BIND).
   */
  check(source: string, kind: RrlKind, bucket: string): RrlAction {
    const prefix = this.prefixes.keyOf(source);
    if (prefix === null) return RrlAction.send;
    const now = this.now();
    const rate = this.rates[kind]!;
    let action: RrlAction = rate > 0 ? this.debit(prefix + '|' + bucket, rate, now, this.settings.slip) : RrlAction.send;
    // all-per-second: every response to the netblock, whatever its kind; it always drops (BIND).
    if (this.settings.allPerSecond > 0 && this.debit(prefix + '|' + ALL_BUCKET, this.settings.allPerSecond, now, 0) === RrlAction.drop) action = RrlAction.drop;
    if (action === RrlAction.send) return action;
    if (action === RrlAction.slip && kind === RrlKind.error) action = RrlAction.leak;
    this.report(prefix, kind, now);
    if (this.settings.logOnly) {
      this.stats.rrlLogged++;
      return RrlAction.send;
    }
    if (action === RrlAction.drop) this.stats.rrlDropped++;
    else if (action === RrlAction.slip) this.stats.rrlSlipped++;
    else this.stats.rrlLeaked++;
    return action;
  }

  /**
   * The responder found that a response check() chose to slip is an error after all (a service's
   * all-down SERVFAIL is known only once decided): it is sent as it is, and counted as leaked.
   */
  leakedInstead(): void {
    if (this.settings.logOnly) return;
    this.stats.rrlSlipped--;
    this.stats.rrlLeaked++;
  }

  /** Debits one response from the account at `key`: send, or (limited) slip every `slip`th and drop the rest. */
  private debit(key: string, rate: number, now: number, slip: number): RrlAction {
    let a = this.accounts.get(key);
    if (a === undefined) {
      a = { balance: rate, at: now, slips: 0 };
      this.insert(key, a);
    } else {
      const age = now - a.at;
      if (age > this.windowMs) {
        a.balance = rate;
        a.slips = 0;
      } else if (age > 0) {
        a.balance += (rate * age) / 1000;
        if (a.balance >= rate) {
          a.balance = rate;
          a.slips = 0;
        }
      }
      a.at = now;
    }
    if (--a.balance >= 0) return RrlAction.send;
    const floor = -(this.windowMs / 1000) * rate;
    if (a.balance < floor) a.balance = floor;
    // A limited account moves to the young end of the table: eviction takes idle ones first.
    this.accounts.delete(key);
    this.accounts.set(key, a);
    if (slip > 0) {
      if (a.slips++ === 0) {
        if (a.slips >= slip) a.slips = 0;
        return RrlAction.slip;
      }
      if (a.slips >= slip) a.slips = 0;
    }
    return RrlAction.drop;
  }

  /** Memory stays bounded under a random-source flood: a full table evicts its oldest account. */
  private insert(key: string, a: Account): void {
    if (this.accounts.size >= this.settings.tableSize) {
      const oldest = this.accounts.keys().next().value;
      if (oldest !== undefined) this.accounts.delete(oldest);
      this.stats.rrlEvictions++;
    }
    this.accounts.set(key, a);
    this.stats.rrlAccounts = this.accounts.size;
  }

  /** Knot's log-period: a netblock's limiting is reported at most once per period, never per packet. */
  private report(prefix: string, kind: RrlKind, now: number): void {
    const last = this.reported.get(prefix);
    if (last !== undefined && now - last < this.logPeriodMs) return;
    if (this.reported.size >= this.settings.tableSize) this.reported.clear();
    this.reported.set(prefix, now);
    const s = this.settings;
    this.opts.onLimited?.({ prefix: describePrefix(prefix, s.ipv4PrefixLength, s.ipv6PrefixLength), kind: KIND_NAMES[kind], logOnly: s.logOnly });
  }

  /** Accounts held now (bounded by tableSize). */
  get size(): number {
    return this.accounts.size;
  }
}
