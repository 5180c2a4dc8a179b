import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyDiff, diffDocuments, escapePointerToken, exactDelta } from './diff.js';
import type { DiffEntry } from './types.js';

/** A minimal RFC 6902 applier (add/remove/replace) with RFC 6901 unescaping: the oracle for the property test. */
function applyPatch(doc: unknown, patch: DiffEntry[]): unknown {
  let root = structuredClone(doc);
  for (const op of patch) {
    if (op.path === '') {
      root = op.op === 'remove' ? undefined : structuredClone(op.after);
      continue;
    }
    const tokens = op.path
      .slice(1)
      .split('/')
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = tokens.pop()!;
    let parent = root as Record<string, unknown> | unknown[];
    for (const t of tokens) parent = (parent as Record<string, unknown>)[t] as typeof parent;
    if (Array.isArray(parent)) {
      const i = Number(last);
      assert.ok(Number.isInteger(i) && i >= 0 && i <= parent.length, `bad index ${op.path}`);
      if (op.op === 'add') parent.splice(i, 0, structuredClone(op.after));
      else if (op.op === 'remove') parent.splice(i, 1);
      else parent[i] = structuredClone(op.after);
    } else {
      if (op.op === 'add') assert.ok(!(last in parent), `add over an existing key ${op.path}`);
      else assert.ok(last in parent, `${op.op} of a missing key ${op.path}`);
      if (op.op === 'remove') delete parent[last];
      else parent[last] = structuredClone(op.after);
    }
  }
  return root;
}

describe('diffDocuments', () => {
  it('equal documents have no diff, whatever their key order', () => {
    assert.deepEqual(diffDocuments({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }), []);
    assert.deepEqual(diffDocuments(null, null), []);
  });

  const table: [string, unknown, unknown, DiffEntry[]][] = [
    ['replaced leaf', { weight: 1 }, { weight: 2 }, [{ op: 'replace', path: '/weight', before: 1, after: 2 }]],
    ['added key', { a: 1 }, { a: 1, b: { c: 2 } }, [{ op: 'add', path: '/b', after: { c: 2 } }]],
    ['removed key', { a: 1, b: 2 }, { a: 1 }, [{ op: 'remove', path: '/b', before: 2 }]],
    [
      'keys in sorted order',
      { z: 1, a: 1 },
      { z: 2, a: 2 },
      [
        { op: 'replace', path: '/a', before: 1, after: 2 },
        { op: 'replace', path: '/z', before: 1, after: 2 },
      ],
    ],
    [
      'nested by index',
      {
        regions: [
          { id: 'eu', weight: 1 },
          { id: 'us', weight: 1 },
        ],
      },
      {
        regions: [
          { id: 'eu', weight: 1 },
          { id: 'us', weight: 5 },
        ],
      },
      [{ op: 'replace', path: '/regions/1/weight', before: 1, after: 5 }],
    ],
    [
      'array grows: ascending adds',
      [1],
      [1, 2, 3],
      [
        { op: 'add', path: '/1', after: 2 },
        { op: 'add', path: '/2', after: 3 },
      ],
    ],
    [
      'array shrinks: descending removes',
      [1, 2, 3],
      [1],
      [
        { op: 'remove', path: '/2', before: 3 },
        { op: 'remove', path: '/1', before: 2 },
      ],
    ],
    [
      'insert at the front is by index, not a move',
      ['b'],
      ['a', 'b'],
      [
        { op: 'replace', path: '/0', before: 'b', after: 'a' },
        { op: 'add', path: '/1', after: 'b' },
      ],
    ],
    [
      'a list of named things: a delete in the middle is one remove',
      {
        services: [
          { name: 'a', ttl: 1 },
          { name: 'b', ttl: 2 },
          { name: 'c', ttl: 3 },
        ],
      },
      {
        services: [
          { name: 'a', ttl: 1 },
          { name: 'c', ttl: 3 },
        ],
      },
      [{ op: 'remove', path: '/services/1', before: { name: 'b', ttl: 2 } }],
    ],
    [
      'keyed: an insert at the front is one add, a change in a kept element is at its new index',
      [{ id: 'b', w: 1 }],
      [
        { id: 'a', w: 0 },
        { id: 'b', w: 2 },
      ],
      [
        { op: 'add', path: '/0', after: { id: 'a', w: 0 } },
        { op: 'replace', path: '/1/w', before: 1, after: 2 },
      ],
    ],
    [
      'endpoints without an id are known by address and port',
      [
        { address: '10.0.0.1', port: 80 },
        { address: '10.0.0.1', port: 443 },
      ],
      [{ address: '10.0.0.1', port: 443 }],
      [{ op: 'remove', path: '/0', before: { address: '10.0.0.1', port: 80 } }],
    ],
    [
      'reordered keyed elements fall back to indexes',
      [{ id: 'a' }, { id: 'b' }],
      [{ id: 'b' }, { id: 'a' }],
      [
        { op: 'replace', path: '/0/id', before: 'a', after: 'b' },
        { op: 'replace', path: '/1/id', before: 'b', after: 'a' },
      ],
    ],
    ['type change is a replace', { a: [1] }, { a: { 0: 1 } }, [{ op: 'replace', path: '/a', before: [1], after: { 0: 1 } }]],
    ['null vs object', { a: null }, { a: {} }, [{ op: 'replace', path: '/a', before: null, after: {} }]],
    [
      'RFC 6901 escaping',
      { 'a/b': 1, 'm~n': 1 },
      { 'a/b': 2, 'm~n': 2 },
      [
        { op: 'replace', path: '/a~1b', before: 1, after: 2 },
        { op: 'replace', path: '/m~0n', before: 1, after: 2 },
      ],
    ],
    ['undefined property is absent', { a: 1, b: undefined }, { a: 1 }, []],
    ['root replace', 1, 'x', [{ op: 'replace', path: '', before: 1, after: 'x' }]],
    ['empty key', { '': 1 }, { '': 2 }, [{ op: 'replace', path: '/', before: 1, after: 2 }]],
  ];
  for (const [name, before, after, want] of table) {
    it(name, () => assert.deepEqual(diffDocuments(before, after), want));
  }

  it('escapes ~ before /, so "~1" stays distinct from "/"', () => {
    assert.equal(escapePointerToken('~1'), '~01');
    assert.equal(escapePointerToken('/'), '~1');
    assert.equal(escapePointerToken('a~/b'), 'a~0~1b');
  });

  it('is deterministic and, applied in order as an RFC 6902 patch, turns before into after', () => {
    const key = fc.oneof(fc.constantFrom('a', 'b', '~', '/', 'a/b', '~1', ''), fc.string({ maxLength: 3 }));
    const { json } = fc.letrec((tie) => ({
      json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(null), fc.boolean(), fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', 'y'), tie('arr'), tie('obj')),
      arr: fc.array(tie('json'), { maxLength: 4 }),
      obj: fc.dictionary(key, tie('json'), { maxKeys: 4, noNullPrototype: true }),
    }));
    // Pairs that share structure, so the diff goes deep instead of replacing the root.
    const pair = json.chain((a) => fc.tuple(fc.constant(a), fc.oneof(fc.constant(structuredClone(a)), json, mutate(a))));
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const d = diffDocuments(a, b);
        assert.deepEqual(diffDocuments(a, b), d);
        assert.deepEqual(applyPatch(a, d), b);
        if (JSON.stringify(a) === JSON.stringify(b)) assert.deepEqual(d, []);
      }),
      { numRuns: 500 },
    );
  });
});

describe('exactDelta (the store delta) and applyDiff', () => {
  const key = fc.oneof(fc.constantFrom('a', 'b', '~', '/', 'a/b', '~1', '', '0', '7', '12'), fc.string({ maxLength: 3 }));
  const { json } = fc.letrec((tie) => ({
    json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(null), fc.boolean(), fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', 'y'), tie('arr'), tie('obj')),
    arr: fc.array(tie('json'), { maxLength: 4 }),
    obj: fc.dictionary(key, tie('json'), { maxKeys: 4, noNullPrototype: true }),
  }));
  const pair = json.chain((a) => fc.tuple(fc.constant(a), fc.oneof(fc.constant(structuredClone(a)), json, mutate(a), reordered(a))));
  /** What the store does: apply the stored (JSON) delta to its own copy of `a`. */
  const rebuilt = (a: unknown, b: unknown): string => JSON.stringify(applyDiff(structuredClone(a), JSON.parse(JSON.stringify(exactDelta(a, b))) as DiffEntry[]));

  it('applied to before, gives after byte for byte, key order included; nothing for an identical value', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        assert.equal(rebuilt(a, b), JSON.stringify(b));
        if (JSON.stringify(a) === JSON.stringify(b)) assert.deepEqual(exactDelta(a, b), []);
        for (const e of exactDelta(a, b)) assert.equal(e.before, undefined, 'a delta carries no before values');
      }),
      { numRuns: 1000 },
    );
  });

  it('one endpoint registered is one add, the same entry the diff shows; a reordered object is replaced, not misplaced', () => {
    const eps = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `e${i}`, address: `10.0.0.${i}`, port: 443 }));
    const a = { regions: [{ id: 'r', endpoints: eps(50) }] };
    const b = { regions: [{ id: 'r', endpoints: [...eps(50).slice(0, 20), { id: 'new', address: '10.9.9.9', port: 80 }, ...eps(50).slice(20)] }] };
    assert.deepEqual(exactDelta(a, b), [{ op: 'add', path: '/regions/0/endpoints/20', after: { id: 'new', address: '10.9.9.9', port: 80 } }]);
    assert.deepEqual(exactDelta(a, b), diffDocuments(a, b));
    assert.equal(rebuilt(a, b), JSON.stringify(b), 'inserted where it was registered');
    const gone = { regions: [{ id: 'r', endpoints: eps(50).filter((_, i) => i !== 3 && i !== 40) }] };
    assert.equal(rebuilt(b, gone), JSON.stringify(gone));
    const c = { regions: [{ endpoints: eps(2), id: 'r' }] };
    assert.deepEqual(exactDelta({ regions: [{ id: 'r', endpoints: eps(2) }] }, c), [{ op: 'replace', path: '/regions/0', after: c.regions[0] }]);
    assert.equal(rebuilt(a, c), JSON.stringify(c));
  });

  it('refuses a path that does not resolve, rather than half-applying', () => {
    assert.throws(() => applyDiff({ a: [] }, [{ op: 'remove', path: '/a/0' }]), /no index/);
    assert.throws(() => applyDiff({ a: 1 }, [{ op: 'replace', path: '/b', after: 2 }]), /no key/);
    assert.throws(() => applyDiff({ a: 1 }, [{ op: 'add', path: '/x/y', after: 2 }]), /no parent/);
  });
});

describe('diffDocuments on keyed lists', () => {
  it('any deletes, inserts and edits of a list of services: a valid patch with one op per deleted or added service', () => {
    const svc = fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), ttl: fc.integer({ min: 0, max: 3 }) }).map((s) => ({ name: s.name, ttl: s.ttl }));
    const list = fc.uniqueArray(svc, { selector: (s) => s.name, maxLength: 6 });
    fc.assert(
      fc.property(list, list, (a, b) => {
        // The kept names in a's order, so that the keyed path applies.
        const order = new Map(a.map((s, i) => [s.name, i]));
        const kept = b.filter((s) => order.has(s.name)).sort((x, y) => order.get(x.name)! - order.get(y.name)!);
        const fresh = b.filter((s) => !order.has(s.name));
        const after = [...kept, ...fresh];
        const d = diffDocuments({ services: a }, { services: after });
        assert.deepEqual(applyPatch({ services: a }, d), { services: after });
        if (a.length > 0 && after.length > 0) {
          const whole = d.filter((e) => /^\/services\/\d+$/.test(e.path));
          assert.equal(whole.filter((e) => e.op === 'remove').length, a.length - kept.length);
          assert.equal(whole.filter((e) => e.op === 'add').length, fresh.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** A copy of `v` whose objects list their keys in reverse order (what a client rewriting a body may send). */
function reordered(v: unknown): fc.Arbitrary<unknown> {
  const flip = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(flip)
      : typeof x === 'object' && x !== null
        ? Object.fromEntries(
            Object.entries(x)
              .reverse()
              .map(([k, y]) => [k, flip(y)]),
          )
        : x;
  return fc.constant(flip(v));
}

/** A copy of `v` with one nested value changed (or an array element appended). */
function mutate(v: unknown): fc.Arbitrary<unknown> {
  return fc.integer({ min: 0, max: 1000 }).map((seed) => {
    const copy = structuredClone(v);
    let node: unknown = copy;
    for (let depth = 0; depth < 4; depth++) {
      if (Array.isArray(node)) {
        if (node.length === 0 || seed % 3 === 0) {
          node.push(seed);
          return copy;
        }
        const i = seed % node.length;
        if (typeof node[i] !== 'object' || node[i] === null) {
          node[i] = `m${seed}`;
          return copy;
        }
        node = node[i];
      } else if (typeof node === 'object' && node !== null) {
        const keys = Object.keys(node);
        const o = node as Record<string, unknown>;
        if (keys.length === 0 || seed % 3 === 0) {
          o[`k${seed}`] = seed;
          return copy;
        }
        const k = keys[seed % keys.length]!;
        if (typeof o[k] !== 'object' || o[k] === null) {
          if (seed % 2) delete o[k];
          else o[k] = `m${seed}`;
          return copy;
        }
        node = o[k];
      } else return `m${seed}`;
    }
    return copy;
  });
}
