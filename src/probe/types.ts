/**
 * Check configuration for the probe sidecar: what a check does (CheckSpec), how often and how
 * patiently it runs (CheckTiming), and the parsers that validate config once, at load, throwing
 * `check: reason` (the policy `parseConfig` convention). Defaults and the reason for each number
 * are in src/probe/README.md.
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { VERSION } from '../version.js';

export interface TcpCheckSpec {
  type: 'tcp';
}

export interface HttpCheckSpec {
  type: 'http' | 'https';
  /** Request path (with query), starting with `/`. */
  path: string;
  /** Status codes that count as healthy, sorted and unique. */
  expect: number[];
  /** Substring that must occur in the first BODY_LIMIT bytes of the body; null = status only. */
  body: string | null;
  /** Host header; null = the target's address (plus `:port` when not the scheme's default). */
  host: string | null;
  /** TLS server name (SNI, and the name the certificate is verified against); null = `host`. */
  sni: string | null;
  /** Skip certificate verification (still TLS). */
  insecure: boolean;
  /**
   * PEM certificates (a private CA) the endpoint's certificate must chain to, instead of Node's
   * bundled roots; null = the bundled roots (plus NODE_EXTRA_CA_CERTS).
   */
  ca: string | null;
}

export type CheckSpec = TcpCheckSpec | HttpCheckSpec;

export interface CheckTiming {
  /** Time between the starts of two checks of one target, before jitter. */
  intervalMs: number;
  /** Budget for one whole check (connect, TLS, response head and the body read). */
  timeoutMs: number;
  /** Consecutive successes that bring a down endpoint up. */
  rise: number;
  /** Consecutive failures that bring an up endpoint down. */
  fall: number;
}

export interface ProbeTarget {
  /** `<region>/<endpoint id>`, the EndpointKey of src/health/types.ts. */
  key: string;
  /** IP literal: probes never resolve names, so the probe's resolver can't fail an endpoint. */
  address: string;
  port: number;
  check: CheckSpec;
  timing: CheckTiming;
}

export interface CheckResult {
  ok: boolean;
  /** Time from the start of the check to its verdict (success or failure), ms. */
  rttMs: number;
  /** Short reason for a failure (`ECONNREFUSED`, `status 503`, `timeout`…), null on success. */
  error: string | null;
}

/** One check run. Never rejects; stops its I/O promptly when `signal` aborts. */
export type CheckRunner = (target: ProbeTarget, signal?: AbortSignal) => Promise<CheckResult>;

/** Route 53 matches the body string within the first 5,120 bytes; the same bound keeps a probe's memory per check tiny. */
export const BODY_LIMIT = 5120;

/** Sent on every HTTP(S) check so that endpoint owners can recognise (and exempt) probe traffic. */
export const USER_AGENT = `Meridian-Probe/${VERSION}`;

/** 2xx and 3xx, as Route 53 and HAProxy's httpchk: a redirect still proves the server is serving; redirects are never followed. */
export const DEFAULT_EXPECT: readonly number[] = Object.freeze(range(200, 399));

/** See README "Defaults and why": detection in ~15 s, well inside a 30 s DNS TTL. */
export const DEFAULT_TIMING: Readonly<CheckTiming> = Object.freeze({ intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3 });

export interface ProbeDefaults {
  timing: CheckTiming;
  /** Checks running at once, per probe process. */
  concurrency: number;
  /** Fraction of the interval by which each run is moved at random, either way. */
  jitter: number;
}

export const DEFAULT_PROBE: Readonly<ProbeDefaults> = Object.freeze({ timing: DEFAULT_TIMING, concurrency: 64, jitter: 0.1 });

const SPEC_KEYS = ['type', 'path', 'expect', 'body', 'host', 'sni', 'insecure', 'ca'];
const TIMING_KEYS = ['intervalMs', 'timeoutMs', 'rise', 'fall'];
const HTTP_ONLY = SPEC_KEYS.filter((k) => k !== 'type');
/** Bounds that catch typos (seconds written as ms, a missing zero) without forbidding short test intervals. */
const LIMITS = { intervalMs: [10, 3_600_000], timeoutMs: [1, 600_000], rise: [1, 100], fall: [1, 100] } as const;

/** A per-endpoint `check:` block: the spec and its timing (missing keys from `defaults`). */
export function parseProbeCheck(json: unknown, defaults: CheckTiming = DEFAULT_TIMING): { check: CheckSpec; timing: CheckTiming } {
  return { check: parseCheck(json), timing: parseTiming(json, defaults) };
}

/** Validates the spec part of a `check:` block. Timing keys are allowed beside it (parseTiming reads them). */
export function parseCheck(json: unknown): CheckSpec {
  const o = record(json, 'check');
  rejectUnknown(o, [...SPEC_KEYS, ...TIMING_KEYS], 'check');
  const type = o.type ?? 'tcp';
  if (type === 'tcp') {
    const extra = HTTP_ONLY.filter((k) => o[k] !== undefined);
    if (extra.length > 0) throw new Error(`check: ${extra.join(', ')} only apply to http and https checks`);
    return { type: 'tcp' };
  }
  if (type !== 'http' && type !== 'https') throw new Error(`check: type must be tcp, http or https (got ${JSON.stringify(type)})`);
  const spec: HttpCheckSpec = {
    type,
    path: parsePath(o.path),
    expect: parseExpect(o.expect),
    body: parseBody(o.body),
    host: optionalName(o.host, 'host', true),
    sni: optionalName(o.sni, 'sni', false),
    insecure: false,
    ca: parseCa(o.ca),
  };
  if (o.insecure !== undefined) {
    if (typeof o.insecure !== 'boolean') throw new Error('check: insecure must be true or false');
    spec.insecure = o.insecure;
  }
  if (type === 'http' && (spec.sni !== null || o.insecure !== undefined || spec.ca !== null)) throw new Error('check: sni, insecure and ca only apply to https checks');
  if (spec.insecure && spec.ca !== null) throw new Error('check: ca has no effect with insecure: true (nothing is verified); set one of them');
  if (spec.sni !== null && isIP(spec.sni) !== 0) throw new Error('check: sni must be a host name; SNI cannot carry an IP address (RFC 6066 §3)');
  return spec;
}

/**
 * `ca:` PEM text with one or more certificates. Inline rather than a file path: check specs also
 * arrive through the admin API, which must not make a node read files of the caller's choosing.
 */
function parseCa(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new Error('check: ca must be PEM text (-----BEGIN CERTIFICATE----- …)');
  const blocks = v.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks || v.length > 256 * 1024) throw new Error('check: ca must be PEM text with at least one certificate (at most 256 KiB)');
  for (const [i, pem] of blocks.entries()) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new Error(`check: ca: certificate ${i + 1} does not parse (${(err as Error).message})`, { cause: err });
    }
  }
  return v;
}

/** Timing keys of a `check:` block or of `health.probe:`, each defaulting to `defaults`. */
export function parseTiming(json: unknown, defaults: CheckTiming = DEFAULT_TIMING): CheckTiming {
  return timing(record(json, 'check'), defaults, 'check');
}

function timing(o: Record<string, unknown>, defaults: CheckTiming, where: string): CheckTiming {
  const t = { ...defaults };
  for (const k of TIMING_KEYS as (keyof CheckTiming)[]) {
    const v = o[k];
    if (v === undefined) continue;
    const [min, max] = LIMITS[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`${where}: ${k} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
    t[k] = v;
  }
  // A check still running when its next one is due would make the interval a lie.
  if (t.timeoutMs > t.intervalMs) throw new Error(`${where}: timeoutMs (${t.timeoutMs}) must not exceed intervalMs (${t.intervalMs})`);
  return t;
}

/** The `health.probe:` block: timing defaults for every check, plus concurrency and jitter. */
export function parseProbeDefaults(json: unknown): ProbeDefaults {
  const o = record(json, 'probe');
  rejectUnknown(o, [...TIMING_KEYS, 'concurrency', 'jitter'], 'probe');
  const t = timing(o, DEFAULT_TIMING, 'probe');
  let { concurrency, jitter } = DEFAULT_PROBE;
  if (o.concurrency !== undefined) {
    if (!Number.isInteger(o.concurrency) || (o.concurrency as number) < 1 || (o.concurrency as number) > 4096) throw new Error('probe: concurrency must be an integer from 1 to 4096');
    concurrency = o.concurrency as number;
  }
  if (o.jitter !== undefined) {
    if (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter <= 0.5)) throw new Error('probe: jitter must be a number from 0 to 0.5');
    jitter = o.jitter;
  }
  return { timing: t, concurrency, jitter };
}

/** `[200, 204]`, `["2xx", "301-302"]` or one of those: expanded to a sorted list of codes. */
export function parseExpect(json: unknown): number[] {
  if (json === undefined || json === null) return [...DEFAULT_EXPECT];
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) throw new Error('check: expect must list at least one status code');
  const codes = new Set<number>();
  for (const item of items) {
    let m: RegExpExecArray | null;
    if (typeof item === 'number' && Number.isInteger(item) && item >= 100 && item <= 599) codes.add(item);
    else if (typeof item === 'string' && (m = /^([1-5])xx$/i.exec(item))) range(Number(m[1]) * 100, Number(m[1]) * 100 + 99).forEach((c) => codes.add(c));
    else if (typeof item === 'string' && (m = /^([1-5]\d\d)-([1-5]\d\d)$/.exec(item)) && Number(m[1]) <= Number(m[2])) range(Number(m[1]), Number(m[2])).forEach((c) => codes.add(c));
    else throw new Error(`check: expect: ${JSON.stringify(item)} is not a status code (100-599), "Nxx" or "A-B"`);
  }
  return [...codes].sort((a, b) => a - b);
}

/** Splits an EndpointKey for metric labels; a key without `/` is all endpoint. */
export function splitKey(key: string): { region: string; endpoint: string } {
  const i = key.indexOf('/');
  return i < 0 ? { region: '', endpoint: key } : { region: key.slice(0, i), endpoint: key.slice(i + 1) };
}

function parsePath(v: unknown): string {
  if (v === undefined) return '/';
  // Control characters and spaces would let config smuggle a second request line or header.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (typeof v !== 'string' || !v.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(v)) throw new Error('check: path must start with "/" and contain no spaces or control characters');
  return v;
}

function parseBody(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length === 0) throw new Error('check: body must be a non-empty string');
  // A needle longer than the window could never match: refuse it at load, not at 3 a.m.
  if (Buffer.byteLength(v) > BODY_LIMIT) throw new Error(`check: body must be at most ${BODY_LIMIT} bytes (only that much of a response is read)`);
  return v;
}

function optionalName(v: unknown, key: string, allowPort: boolean): string | null {
  if (v === undefined || v === null) return null;
  const re = allowPort ? /^[A-Za-z0-9._-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/ : /^[A-Za-z0-9._-]+$/;
  if (typeof v !== 'string' || v.length > 255 || !re.test(v)) throw new Error(`check: ${key} must be a host name${allowPort ? ' (optionally with :port)' : ''}`);
  return v;
}

function record(json: unknown, where: string): Record<string, unknown> {
  if (json === undefined || json === null) return {};
  if (typeof json !== 'object' || Array.isArray(json)) throw new Error(`${where}: must be a mapping`);
  return json as Record<string, unknown>;
}

function rejectUnknown(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`${where}: unknown key "${k}" (allowed: ${allowed.join(', ')})`);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
