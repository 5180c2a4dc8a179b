/**
 * Lexer for RFC 1035 §5.1 master files: splits the text into entries (one logical line each,
 * parentheses joining physical lines) made of tokens that remember their source line.
 *
 * The lexer knows nothing about record types. It decodes escapes into `bytes` for
 * character-strings but keeps the raw spelling in `raw`, because the parser must distinguish
 * `\#` (RFC 3597 marker) from a literal `#` and must refuse escapes inside names.
 * @module
 */

export interface Token {
  /** Text as written, escapes untouched, quotes removed. */
  raw: string;
  /** Decoded value: `\X` -> X, `\DDD` -> byte DDD, other characters as UTF-8. */
  bytes: Buffer;
  quoted: boolean;
  line: number;
}

export interface Entry {
  tokens: Token[];
  /** The entry's first physical line began with whitespace: RFC 1035 "blank owner". */
  blankOwner: boolean;
  /** Line of the first token (or of the problem, for an entry that has no token). */
  line: number;
  /**
   * First lexical problem in this entry; the parser reports it instead of parsing. Its line is
   * the entry's, except for an unterminated quote or parenthesis: there the line where it opened
   * is what the operator needs, as the entry swallowed everything after it.
   */
  error?: { line: number; reason: string };
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
// Characters that end an unquoted token even without whitespace, as in BIND's lexer.
const isDelimiter = (c: string): boolean => isSpace(c) || c === '\n' || c === ';' || c === '(' || c === ')' || c === '"';

export function tokenize(text: string): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let i = 0;
  let depth = 0;
  let parenLine = 0;
  let cur: Entry | undefined;
  let atLineStart = true;

  const entry = (): Entry => {
    cur ??= { tokens: [], blankOwner: false, line, error: undefined };
    return cur;
  };
  let errorPinned = false;
  const fail = (errLine: number, reason: string, pinned = false): void => {
    const e = entry();
    if (e.error !== undefined) return;
    e.error = { line: errLine, reason };
    errorPinned = pinned;
  };
  const finish = (): void => {
    if (cur !== undefined && (cur.tokens.length > 0 || cur.error !== undefined)) {
      cur.line = cur.tokens[0]?.line ?? cur.error!.line;
      if (cur.error !== undefined && !errorPinned) cur.error.line = cur.line;
      entries.push(cur);
    }
    cur = undefined;
  };

  // Reads one unquoted or quoted token starting at i; the closing quote is consumed.
  const readToken = (quoted: boolean): void => {
    const startLine = line;
    let raw = '';
    const parts: Buffer[] = [];
    let pending = '';
    const flush = (): void => {
      if (pending !== '') parts.push(Buffer.from(pending, 'utf8'));
      pending = '';
    };
    let closed = !quoted;
    while (i < text.length) {
      const c = text[i]!;
      if (quoted) {
        if (c === '"') {
          i++;
          closed = true;
          break;
        }
        // Quoted strings do not span lines in BIND either; a newline here means a missing quote.
        if (c === '\n') break;
      } else if (isDelimiter(c)) break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === undefined || next === '\n') {
          fail(line, 'dangling backslash at end of line');
          raw += c;
          i++;
          continue;
        }
        if (isDigit(next)) {
          const ddd = text.slice(i + 1, i + 4);
          if (!/^\d{3}$/.test(ddd) || Number(ddd) > 255) fail(line, `bad escape "\\${ddd}"`);
          else {
            flush();
            parts.push(Buffer.from([Number(ddd)]));
          }
          raw += '\\' + ddd;
          i += 1 + ddd.length;
          continue;
        }
        // Take the whole code point so an escaped astral character stays intact.
        const cp = String.fromCodePoint(text.codePointAt(i + 1)!);
        pending += cp;
        raw += '\\' + cp;
        i += 1 + cp.length;
        continue;
      }
      pending += c;
      raw += c;
      i++;
    }
    flush();
    if (!closed) fail(startLine, 'unterminated quoted string', true);
    entry().tokens.push({ raw, bytes: Buffer.concat(parts), quoted, line: startLine });
  };

  while (i < text.length) {
    const c = text[i]!;
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0) {
        finish();
        if (isSpace(c)) entry().blankOwner = true;
      }
    }
    if (c === '\n') {
      line++;
      i++;
      atLineStart = true;
      continue;
    }
    if (isSpace(c)) {
      i++;
    } else if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(') {
      // BIND rejects nesting; accepting it would only hide a missing ')'.
      if (depth > 0) fail(line, 'nested parenthesis');
      else parenLine = line;
      depth++;
      i++;
    } else if (c === ')') {
      if (depth === 0) fail(line, 'unbalanced ")"');
      else depth--;
      i++;
    } else if (c === '"') {
      i++;
      readToken(true);
    } else {
      readToken(false);
    }
  }
  if (depth > 0) fail(parenLine, 'unterminated parenthesis', true);
  finish();
  return entries;
}
