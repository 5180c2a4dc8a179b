/**
 * xorshift32: a fixed pseudo-random sequence, so a benchmark asks the same addresses on every run.
 * @module
 */
export function xorshift32(seed = 0x9e3779b9): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}
