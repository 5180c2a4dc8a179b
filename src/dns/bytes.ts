/**
 * Big-endian reads and writes for the per-query path. `Buffer#readUInt16BE`/`writeUInt16BE` check
 * their arguments on every call, which showed as about a tenth of the answer path's CPU in a
 * profile; the decoder and the answer builder check their bounds once themselves, so these do not.
 * Callers must stay inside the buffer: an out-of-range read yields 0 instead of throwing.
 * @module
 */

export function u16(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) >>> 0;
}

export function u32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

export function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** Copies `src[from, to)` to `dst` at `at`: a plain loop, faster than `Buffer#copy` for the few dozen bytes of a question. */
export function copyBytes(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
}
