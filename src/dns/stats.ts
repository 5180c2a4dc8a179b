/**
 * Plain counters of the answer path. Incrementing a field is all the hot path pays; the metrics
 * registry reads them at scrape time (prom-client collect()), and tests assert them directly, as
 * gdnsd's test suite checks its stats after each malformed packet.
 * @module
 */
import { Rcode } from '../wire/constants.js';

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
