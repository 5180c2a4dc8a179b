/**
 * The nesting bound of configs and API bodies. JSON.parse and the YAML parser take deep input in
 * their stride, but everything after them walks it recursively (structuredClone, the schema
 * checks, the policy compilers): 10,000 nested arrays in a policy overflowed the stack and the API
 * answered 500. No real config nests beyond a dozen levels, so a bound of 32 refuses only input
 * meant to hurt, before anything clones or validates it.
 * @module
 */

export const MAX_NESTING = 32;
export const TOO_DEEP = 'MERIDIAN_ERR_TOO_DEEP' as const;

/**
 * The path of the first array or object nested more than `limit` levels deep in `value`, or null.
 * Iterative, so that it cannot overflow on the input it exists to refuse.
 */
export function tooDeep(value: unknown, limit = MAX_NESTING): (string | number)[] | null {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= limit) return path;
    for (const [k, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) stack.push({ v: child, path: [...path, k] });
  }
  return null;
}

/** What is said about input nested deeper than the bound, `where` naming the spot. */
export function tooDeepReason(where: string): string {
  return `${TOO_DEEP}: ${where} nests arrays and objects more than ${MAX_NESTING} levels deep (the limit)`;
}
