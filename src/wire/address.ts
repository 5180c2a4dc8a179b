/**
 * Address bytes for the wire: a leaf, so routing/ and forward/ build address bytes without
 * importing dns/ (whose writer uses it too).
 * @module
 */

/** 16 bytes of an IPv6 address in any RFC 4291 text form (including embedded IPv4). */
export function ipv6Bytes(address: string): Buffer {
  let text = address;
  const out = Buffer.alloc(16);
  const v4 = text.lastIndexOf('.') > 0 ? text.slice(text.lastIndexOf(':') + 1) : '';
  let tail: number[] = [];
  if (v4) {
    const p = v4.split('.').map(Number);
    tail = [(p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!];
    text = text.slice(0, text.lastIndexOf(':') + 1) + '0:0'; // two placeholder words, replaced below
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string | undefined): number[] => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  let words = parse(head);
  if (rest !== undefined) {
    const right = parse(rest);
    words = [...words, ...new Array(8 - words.length - right.length).fill(0), ...right];
  }
  if (tail.length) words = [...words.slice(0, 6), ...tail];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i] ?? 0, i * 2);
  return out;
}
