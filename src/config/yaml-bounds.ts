/**
 * Bounds on a YAML config before it becomes data (a fresh-eyes review of issue 16: both were
 * uncoded errors, one with a stack trace):
 * - **nesting**: the yaml library's composer recurses, so 50,000 nested brackets overflowed its
 *   stack (reported as "Maximum call stack size exceeded", after seconds), and its parser spends
 *   ~15 µs a level on the way. Deep nesting is cheap to write only with brackets (`[[[[`) or with
 *   block indicators on one line (`- - - -`); through indentation it costs quadratic text. So
 *   {@link lexTooDeep} first runs the lexer (linear, no recursion) and stops at the first bracket
 *   or same-line indicator past the bound; then {@link cstFacts} walks the syntax tree, iteratively,
 *   for the exact depth. Both refuse more than MAX_NESTING levels (depth.ts, the bound of API bodies
 *   too) before the composer runs;
 * - **aliases**: `*ref` expands what `&ref` names, so nine lines of aliases to aliases make 10^9
 *   strings (a "billion laughs"). The library bounds it with `maxAliasCount` (each alias weighted by
 *   the aliases inside what it expands); Meridian passes the library's default, 100, explicitly,
 *   and reports the refusal as a config error at the first alias. Real configs use a few anchors
 *   (a shared check block), far below it.
 * @module
 */
import { CST, Lexer, Parser, type LineCounter } from 'yaml';
import { MAX_NESTING, TOO_DEEP } from './depth.js';

/** The `maxAliasCount` every YAML config is read with. */
export const MAX_ALIAS_COUNT = 100;

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);
/** Lexer tokens that mark a mode, not source text. */
const CONTROL = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * The offset of the first `[`/`{` nested more than `limit` deep, or of a block indicator (`-`, `?`)
 * that is the limit-plus-first on its line, else null: a linear pass that stops there, so the
 * parser never sees deep input that costs the writer only a few bytes a level.
 */
export function lexTooDeep(text: string, limit = MAX_NESTING): number | null {
  let offset = 0;
  let flow = 0;
  let onLine = 0;
  for (const token of new Lexer().lex(text)) {
    switch (CST.tokenType(token)) {
      case 'flow-seq-start':
      case 'flow-map-start':
        if (++flow > limit) return offset;
        break;
      case 'flow-seq-end':
      case 'flow-map-end':
        flow = Math.max(0, flow - 1);
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
        if (flow === 0 && ++onLine > limit) return offset;
        break;
      case 'newline':
        onLine = 0;
        break;
    }
    if (!CONTROL.has(token)) offset += token.length;
  }
  return null;
}

interface CstNode {
  type?: string;
  offset?: number;
  value?: CstNode;
  key?: CstNode | null;
  items?: { key?: CstNode | null; value?: CstNode | null }[];
}

/** What a walk of the syntax tree found: the offset of the first collection past the bound, and of the first alias. */
export interface CstFacts {
  tooDeep: number | null;
  firstAlias: number | null;
}

/** Walks every document of `text`'s syntax tree without recursion; `counter` learns the line breaks. */
export function cstFacts(text: string, counter: LineCounter, limit = MAX_NESTING): CstFacts {
  const facts: CstFacts = { tooDeep: null, firstAlias: null };
  const stack: { node: CstNode; depth: number }[] = [];
  for (const token of new Parser(counter.addNewLine).parse(text)) stack.push({ node: token as CstNode, depth: 0 });
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (node.type === 'alias' && (facts.firstAlias === null || node.offset! < facts.firstAlias)) facts.firstAlias = node.offset!;
    const d = COLLECTIONS.has(node.type ?? '') ? depth + 1 : depth;
    if (d > limit) {
      if (facts.tooDeep === null || node.offset! < facts.tooDeep) facts.tooDeep = node.offset!;
      continue;
    }
    if (node.value) stack.push({ node: node.value, depth: d });
    for (const item of node.items ?? []) {
      if (item.key) stack.push({ node: item.key, depth: d });
      if (item.value) stack.push({ node: item.value, depth: d });
    }
  }
  return facts;
}

export const yamlTooDeepReason = `${TOO_DEEP}: the YAML nests collections more than ${MAX_NESTING} levels deep (the limit; no real config comes near)`;
export const aliasBombReason = `MERIDIAN_ERR_INVALID_CONFIG: the YAML's aliases expand past ${MAX_ALIAS_COUNT} (maxAliasCount): an alias bomb ("billion laughs") is refused before it is expanded`;
