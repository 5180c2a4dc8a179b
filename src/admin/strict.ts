/**
 * JSON bodies are not type-coerced. fastify's Ajv runs with `coerceTypes: 'array'`, which the query
 * string needs (`?dryRun=true` is text) but which also turned a body's `{"weight": null}` into 0,
 * `true` into 1, `"7"` into 7 and `"eu-west"` into `["eu-west"]`: a malformed write became a real
 * change. This check runs before Ajv and refuses a body value whose JSON type is not one its schema
 * allows; everything else (ranges, patterns, defaults, messages) stays Ajv's.
 * @module
 */

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

function typeAllows(type: string, actual: string): boolean {
  return type === actual || (type === 'number' && actual === 'integer');
}

const escape = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** The first place where `value` has a JSON type `schema` does not allow, or null. */
export function typeMismatch(schema: JsonSchema, value: unknown, path: string): { path: string; expected: string } | null {
  if (schema.allOf) {
    for (const s of schema.allOf) {
      const m = typeMismatch(s, value, path);
      if (m) return m;
    }
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const misses = alternatives.map((s) => typeMismatch(s, value, path));
    if (misses.some((m) => m === null)) return null;
    return misses.find((m) => m!.path !== path) ?? { path, expected: misses.map((m) => m!.expected).join(' or ') };
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = jsonType(value);
    if (!types.some((t) => typeAllows(t, actual))) return { path, expected: types.join(' or ') };
  }
  if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const m = typeMismatch(schema.items, value[i], `${path}/${i}`);
      if (m) return m;
    }
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (!sub) continue; // unknown keys are Ajv's to refuse (additionalProperties: false)
      const m = typeMismatch(sub, v, `${path}/${escape(k)}`);
      if (m) return m;
    }
  }
  return null;
}
