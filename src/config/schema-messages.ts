/**
 * Schema violations in words an operator reads: "must be at least 1", "must be one of up, down,
 * drained", `unknown key "colour" (known: …)`, instead of the schema libraries' own texts
 * ("Expected integer to be greater or equal to 1", "must be equal to constant"). One wording for
 * both validators: TypeBox's (YAML load, config documents) here, Ajv's (the admin API's request
 * schemas) mapped onto the same `Constraint` by src/admin/validation.ts.
 * @module
 */
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';

export type Constraint =
  | { kind: 'minItems' | 'maxItems' | 'minimum' | 'maximum' | 'exclusiveMinimum' | 'exclusiveMaximum' | 'minLength' | 'maxLength'; limit: number }
  | { kind: 'pattern'; pattern: string }
  | { kind: 'format'; format: string }
  | { kind: 'type'; type: string }
  | { kind: 'choice'; choices: unknown[] }
  | { kind: 'unknownKey'; key: string; known: string[] }
  | { kind: 'required' }
  | { kind: 'other'; text: string };

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (an object)',
  null: 'null',
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The reason part of a message; the caller puts the field in front of it. */
export function describeConstraint(c: Constraint): string {
  switch (c.kind) {
    case 'minItems':
      return `must have at least ${plural(c.limit, 'item')}`;
    case 'maxItems':
      return `must have at most ${plural(c.limit, 'item')}`;
    case 'minimum':
      return `must be at least ${c.limit}`;
    case 'maximum':
      return `must be at most ${c.limit}`;
    case 'exclusiveMinimum':
      return `must be greater than ${c.limit}`;
    case 'exclusiveMaximum':
      return `must be less than ${c.limit}`;
    case 'minLength':
      return c.limit === 1 ? 'must not be empty' : `must be at least ${plural(c.limit, 'character')} long`;
    case 'maxLength':
      return `must be at most ${plural(c.limit, 'character')} long`;
    case 'pattern':
      return `must match the pattern ${c.pattern}`;
    case 'format':
      return `must be a ${c.format}`;
    case 'type':
      return `must be ${c.type
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t)
        .join(' or ')}`;
    case 'choice':
      return c.choices.length === 1 ? `must be ${String(c.choices[0])}` : `must be one of ${c.choices.map(String).join(', ')}`;
    case 'unknownKey':
      return `unknown key "${c.key}"${c.known.length ? ` (known: ${c.known.join(', ')})` : ''}`;
    case 'required':
      return 'is required';
    case 'other':
      return c.text;
  }
}

interface SchemaLike {
  const?: unknown;
  enum?: unknown[];
  anyOf?: SchemaLike[];
  properties?: Record<string, unknown>;
  [k: string]: unknown;
}

/** The values a union of literals (or an enum) allows, or null when it allows other shapes too. */
export function choicesOf(schema: SchemaLike | undefined): unknown[] | null {
  if (!schema) return null;
  if (Array.isArray(schema.enum)) return schema.enum;
  if ('const' in schema) return [schema.const];
  if (Array.isArray(schema.anyOf) && schema.anyOf.every((s) => 'const' in s)) return schema.anyOf.map((s) => s.const);
  return null;
}

const LIMITS: Partial<Record<ValueErrorType, [Extract<Constraint, { limit: number }>['kind'], string]>> = {
  [ValueErrorType.ArrayMinItems]: ['minItems', 'minItems'],
  [ValueErrorType.ArrayMaxItems]: ['maxItems', 'maxItems'],
  [ValueErrorType.IntegerMinimum]: ['minimum', 'minimum'],
  [ValueErrorType.NumberMinimum]: ['minimum', 'minimum'],
  [ValueErrorType.IntegerMaximum]: ['maximum', 'maximum'],
  [ValueErrorType.NumberMaximum]: ['maximum', 'maximum'],
  [ValueErrorType.IntegerExclusiveMinimum]: ['exclusiveMinimum', 'exclusiveMinimum'],
  [ValueErrorType.NumberExclusiveMinimum]: ['exclusiveMinimum', 'exclusiveMinimum'],
  [ValueErrorType.IntegerExclusiveMaximum]: ['exclusiveMaximum', 'exclusiveMaximum'],
  [ValueErrorType.NumberExclusiveMaximum]: ['exclusiveMaximum', 'exclusiveMaximum'],
  [ValueErrorType.StringMinLength]: ['minLength', 'minLength'],
  [ValueErrorType.StringMaxLength]: ['maxLength', 'maxLength'],
};

const TYPES: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.Integer]: 'integer',
  [ValueErrorType.Number]: 'number',
  [ValueErrorType.String]: 'string',
  [ValueErrorType.Boolean]: 'boolean',
  [ValueErrorType.Array]: 'array',
  [ValueErrorType.Object]: 'object',
  [ValueErrorType.Null]: 'null',
};

/** A TypeBox error as a Constraint (its path names the offending key for unknown and missing keys). */
export function typeboxConstraint(e: ValueError): Constraint {
  const schema = e.schema as SchemaLike;
  const limit = LIMITS[e.type];
  if (limit) return { kind: limit[0], limit: Number(schema[limit[1]]) };
  const type = TYPES[e.type];
  if (type) return { kind: 'type', type };
  switch (e.type) {
    case ValueErrorType.StringPattern:
      return { kind: 'pattern', pattern: String(schema.pattern) };
    case ValueErrorType.StringFormat:
      return { kind: 'format', format: String(schema.format) };
    case ValueErrorType.Literal:
    case ValueErrorType.Union: {
      const choices = choicesOf(schema);
      return choices ? { kind: 'choice', choices } : { kind: 'other', text: 'does not match any of the allowed forms' };
    }
    case ValueErrorType.ObjectAdditionalProperties:
      return { kind: 'unknownKey', key: e.path.split('/').pop()!.replace(/~1/g, '/').replace(/~0/g, '~'), known: Object.keys(schema.properties ?? {}) };
    case ValueErrorType.ObjectRequiredProperty:
      return { kind: 'required' };
    default:
      return { kind: 'other', text: e.message };
  }
}

/** A TypeBox error's reason in words (without the path). */
export function schemaMessage(e: ValueError): string {
  return describeConstraint(typeboxConstraint(e));
}

/** The errors, less those at a field already reported missing (`is required`, not `must be a list` too). */
export function* oncePerMissing(errors: Iterable<ValueError>): Iterable<ValueError> {
  const missing = new Set<string>();
  for (const e of errors) {
    if (missing.has(e.path)) continue;
    if (e.type === ValueErrorType.ObjectRequiredProperty) missing.add(e.path);
    yield e;
  }
}
