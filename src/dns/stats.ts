/**
 * Plain counters of the answer path. Incrementing a field is all the hot path pays; the metrics
 * registry reads them at scrape time (prom-client collect()), and tests assert them directly, as
 * gdnsd's test suite checks its stats after each malformed packet.
 * @module
 */
import { Rcode } from '../wire/constants.js';
import type { AnswerCell } from '../routing/service.js';

/**
 * The QTYPEs `meridian_dns_requests_total{qtype}` names; every other type is `other`, so a client
 * choosing types never adds a series. The types a GSLB serves or is commonly asked, plus the
 * DNSSEC and SVCB/HTTPS lookups resolvers make.
 */
export const QTYPE_LABELS = [
  ['A', 1],
  ['NS', 2],
  ['CNAME', 5],
  ['SOA', 6],
  ['PTR', 12],
  ['MX', 15],
  ['TXT', 16],
  ['AAAA', 28],
  ['SRV', 33],
  ['NAPTR', 35],
  ['DS', 43],
  ['DNSKEY', 48],
  ['SVCB', 64],
  ['HTTPS', 65],
  ['IXFR', 251],
  ['AXFR', 252],
  ['ANY', 255],
  ['CAA', 257],
] as const;
const OTHER_SLOT = QTYPE_LABELS.length;
/** QTYPE -> slot of `byQtype`: one array read per query, no string built. */
const QTYPE_SLOT = new Uint8Array(65536).fill(OTHER_SLOT);
QTYPE_LABELS.forEach(([, code], i) => (QTYPE_SLOT[code] = i));

/**
 * Upper bounds (seconds) of the answer-latency histogram: an answer from the prepared cache takes
 * microseconds, a decision-cache miss with a geo lookup tens, a stall of the process milliseconds.
 */
export const LATENCY_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1] as const;
/** One query in 2^LATENCY_SAMPLE_BITS is timed (src/dns/README.md: what a timed answer costs). */
export const LATENCY_SAMPLE_BITS = 4;
const LATENCY_SAMPLE_MASK = (1 << LATENCY_SAMPLE_BITS) - 1;

export class DnsStats {
  queries = 0;
  udp = 0;
  tcp = 0;
  /** Messages never answered: shorter than a header, QR=1, or undecodable. */
  dropped = 0;
  truncated = 0;
  /** FORMERR / NOTIMP responses decided but kept back: the UDP error-response rate limit was reached. */
  formerrRateLimited = 0;
  notimpRateLimited = 0;
  internalErrors = 0;
  /** Answers decided per client by a service's policy chain. */
  dynamic = 0;
  /** Service answers given while every candidate region was down (the all-down policy applied). */
  allDown = 0;
  /** Services whose decision cache a health change emptied (one per service per change that concerns it). */
  decisionFlushes = 0;
  /** Service decisions computed by running the policy chain (a miss of both decision caches; src/routing/service.ts). */
  decisions = 0;
  /** Geo database lookups made for decisions (one per per-/24 decision-cache miss of a service that needs geo). */
  geoLookups = 0;
  noerror = 0;
  formerr = 0;
  servfail = 0;
  nxdomain = 0;
  notimp = 0;
  refused = 0;
  notauth = 0;
  badvers = 0;
  tcpConnections = 0;
  tcpEvicted = 0;
  tcpTimeouts = 0;
  /** Response rate limiting (rrl.ts), UDP only: responses dropped, sent as TC=1 instead, errors sent at the slip rate. */
  rrlDropped = 0;
  rrlSlipped = 0;
  rrlLeaked = 0;
  /** Log-only mode: responses that would have been limited, answered normally. */
  rrlLogged = 0;
  /** Accounts evicted from the full RRL table, and the accounts held now. */
  rrlEvictions = 0;
  rrlAccounts = 0;
  /** Times the per-netblock error-cap table was full and emptied. */
  errorCapClears = 0;
  /** Decoded queries by QTYPE slot (`QTYPE_LABELS`, then other). */
  readonly byQtype = new Float64Array(OTHER_SLOT + 1);
  /** Decoded queries with an ECS option, and without (the rest of the decoded queries). */
  ecsPresent = 0;
  ecsAbsent = 0;
  /** Service decisions asked of the decision caches: per-/24 hits, misses the geo network's cache answered, chain runs. */
  decisionHits = 0;
  decisionNetworkHits = 0;
  decisionMisses = 0;
  /** Timed answers (one query in 16): non-cumulative counts per `LATENCY_BUCKETS` bound, then +Inf; sum in seconds. */
  readonly latencyBuckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  latencySum = 0;
  /** Service answers with addresses, by service then region: cells stay across config versions, so counters never go back. */
  readonly answers = new Map<string, Map<string, AnswerCell>>();

  /** Counts one decoded query (its type and whether it carries ECS). */
  countQuery(qtype: number, ecs: boolean): void {
    this.byQtype[QTYPE_SLOT[qtype]!]!++;
    if (ecs) this.ecsPresent++;
    else this.ecsAbsent++;
  }

  /** Whether the query just counted in `queries` is one to time. */
  timed(): boolean {
    return (this.queries & LATENCY_SAMPLE_MASK) === 0;
  }

  observeLatency(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.latencyBuckets[i]!++;
    this.latencySum += seconds;
  }

  /** The cell counting `service`'s answers from `region`. */
  answerCell(service: string, region: string): AnswerCell {
    let byRegion = this.answers.get(service);
    if (!byRegion) this.answers.set(service, (byRegion = new Map()));
    let cell = byRegion.get(region);
    if (!cell) byRegion.set(region, (cell = { n: 0 }));
    return cell;
  }

  /** One response sent (the responder returns only what the socket sends). */
  countRcode(rcode: number): void {
    switch (rcode) {
      case Rcode.NOERROR:
        this.noerror++;
        break;
      case Rcode.FORMERR:
        this.formerr++;
        break;
      case Rcode.SERVFAIL:
        this.servfail++;
        break;
      case Rcode.NXDOMAIN:
        this.nxdomain++;
        break;
      case Rcode.NOTIMP:
        this.notimp++;
        break;
      case Rcode.REFUSED:
        this.refused++;
        break;
      case Rcode.NOTAUTH:
        this.notauth++;
        break;
      case Rcode.BADVERS:
        this.badvers++;
        break;
    }
  }
}
