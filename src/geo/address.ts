/**
 * Address text <-> bytes without allocating: the lookup path parses the client's address into a
 * scratch buffer, and network text is built only when a result is first made.
 *
 * Accepted: dotted-quad IPv4 without leading zeros (`010.1.1.1` is ambiguous: octal to some
 * parsers), and RFC 4291 IPv6 text with `::`, an embedded dotted quad, and a zone (`%eth0`: any
 * non-empty text, ignored; sockets report interface names that stricter patterns refuse).
 * @module
 */

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Parses dotted-quad text in s[start, end) into out[at, at + 4); false if it is not one. */
function parse4(s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      digits++;
    } else return false;
  }
  return part === 4;
}

/** Parses IPv6 text in s[0, end) into out[0, 16); false if it is not one. */
function parse6(s: string, end: number, out: Uint8Array): boolean {
  let i = 0;
  let g = 0; // groups written
  let gap = -1; // group index where `::` stands
  if (end >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    if (g === 8) return false;
    const start = i;
    let v = 0;
    let h: number;
    while (i < end && (h = hexValue(s.charCodeAt(i))) >= 0) {
      v = (v << 4) | h;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // Embedded IPv4 (::ffff:192.0.2.1): the last 32 bits.
      if (g > 6 || !parse4(s, start, end, out, g * 2)) return false;
      g += 2;
      break;
    }
    const n = i - start;
    if (n === 0 || n > 4) return false;
    out[g * 2] = v >> 8;
    out[g * 2 + 1] = v & 0xff;
    g++;
    if (i === end) break;
    if (s.charCodeAt(i++) !== 58) return false;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = g;
      i++;
    } else if (i === end) return false; // a single trailing colon
  }
  if (gap < 0) return g === 8;
  if (g > 7) return false; // `::` stands for at least one group
  const move = g - gap;
  for (let k = 1; k <= move * 2; k++) out[16 - k] = out[gap * 2 + move * 2 - k]!;
  for (let k = gap * 2; k < 16 - move * 2; k++) out[k] = 0;
  return true;
}

/**
 * Parses address text into `out` (at least 16 bytes). Returns 4 (out[0..3] written), 6 (out[0..15]
 * written) or 0 when the text is not an address.
 */
export function parseAddress(text: string, out: Uint8Array): 0 | 4 | 6 {
  const len = text.length;
  if (len === 0) return 0;
  if (text.indexOf(':') < 0) return parse4(text, 0, len, out, 0) ? 4 : 0;
  let end = text.indexOf('%');
  if (end === len - 1 || end === 0) return 0;
  if (end < 0) end = len;
  return parse6(text, end, out) ? 6 : 0;
}

/** True for ::ffff:0:0/96, the form dual-stack sockets give IPv4 peers. */
export function isIpv4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Dotted-quad text of a 32-bit address. */
export function formatIPv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** RFC 5952 text of `b` (16 bytes) with all but its first `prefix` bits cleared. */
export function formatIPv6(b: Uint8Array, prefix = 128): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    groups.push((((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0)) & mask);
  }
  // IPv4-mapped addresses end in a dotted quad (RFC 5952 §5).
  if (groups[5] === 0xffff && groups.slice(0, 5).every((g) => g === 0)) {
    return `::ffff:${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  // The longest run of two or more zero groups becomes `::` (the first one on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}
