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
  return new Lexer(text).run();
}

/** One pass over a master file's text; its state is the position, the line and the entry being built. */
class Lexer {
  private readonly entries: Entry[] = [];
  private line = 1;
  private i = 0;
  private depth = 0;
  private parenLine = 0;
  private cur: Entry | undefined;
  private atLineStart = true;
  /** The entry's error keeps its own line (an unterminated quote or parenthesis), not the entry's. */
  private errorPinned = false;

  constructor(private readonly text: string) {}

  run(): Entry[] {
    const text = this.text;
    while (this.i < text.length) {
      const c = text[this.i]!;
      if (this.atLineStart) {
        this.atLineStart = false;
        if (this.depth === 0) {
          this.finish();
          if (isSpace(c)) this.entry().blankOwner = true;
        }
      }
      if (c === '\n') {
        this.line++;
        this.i++;
        this.atLineStart = true;
      } else if (isSpace(c)) this.i++;
      else if (c === ';') while (this.i < text.length && text[this.i] !== '\n') this.i++;
      else if (c === '(') this.open();
      else if (c === ')') this.close();
      else if (c === '"') {
        this.i++;
        this.readToken(true);
      } else this.readToken(false);
    }
    if (this.depth > 0) this.fail(this.parenLine, 'unterminated parenthesis', true);
    this.finish();
    return this.entries;
  }

  private open(): void {
    // BIND rejects nesting; accepting it would only hide a missing ')'.
    if (this.depth > 0) this.fail(this.line, 'nested parenthesis');
    else this.parenLine = this.line;
    this.depth++;
    this.i++;
  }

  private close(): void {
    if (this.depth === 0) this.fail(this.line, 'unbalanced ")"');
    else this.depth--;
    this.i++;
  }

  private entry(): Entry {
    this.cur ??= { tokens: [], blankOwner: false, line: this.line, error: undefined };
    return this.cur;
  }

  private fail(errLine: number, reason: string, pinned = false): void {
    const e = this.entry();
    if (e.error !== undefined) return;
    e.error = { line: errLine, reason };
    this.errorPinned = pinned;
  }

  private finish(): void {
    const cur = this.cur;
    if (cur !== undefined && (cur.tokens.length > 0 || cur.error !== undefined)) {
      cur.line = cur.tokens[0]?.line ?? cur.error!.line;
      if (cur.error !== undefined && !this.errorPinned) cur.error.line = cur.line;
      this.entries.push(cur);
    }
    this.cur = undefined;
  }

  /** Reads one unquoted or quoted token starting at i; the closing quote is consumed. */
  private readToken(quoted: boolean): void {
    const text = this.text;
    const startLine = this.line;
    const token = { raw: '', parts: [] as Buffer[], pending: '' };
    let closed = !quoted;
    while (this.i < text.length) {
      const c = text[this.i]!;
      if (quoted) {
        if (c === '"') {
          this.i++;
          closed = true;
          break;
        }
        // Quoted strings do not span lines in BIND either; a newline here means a missing quote.
        if (c === '\n') break;
      } else if (isDelimiter(c)) break;
      if (c === '\\') this.readEscape(token);
      else {
        token.pending += c;
        token.raw += c;
        this.i++;
      }
    }
    flush(token);
    if (!closed) this.fail(startLine, 'unterminated quoted string', true);
    this.entry().tokens.push({ raw: token.raw, bytes: Buffer.concat(token.parts), quoted, line: startLine });
  }

  /** A backslash at i: `\DDD` is a byte, `\X` the character X (a whole code point). */
  private readEscape(token: TokenText): void {
    const text = this.text;
    const next = text[this.i + 1];
    if (next === undefined || next === '\n') {
      this.fail(this.line, 'dangling backslash at end of line');
      token.raw += '\\';
      this.i++;
      return;
    }
    if (isDigit(next)) {
      const ddd = text.slice(this.i + 1, this.i + 4);
      if (!/^\d{3}$/.test(ddd) || Number(ddd) > 255) this.fail(this.line, `bad escape "\\${ddd}"`);
      else {
        flush(token);
        token.parts.push(Buffer.from([Number(ddd)]));
      }
      token.raw += '\\' + ddd;
      this.i += 1 + ddd.length;
      return;
    }
    // Take the whole code point so an escaped astral character stays intact.
    const cp = String.fromCodePoint(text.codePointAt(this.i + 1)!);
    token.pending += cp;
    token.raw += '\\' + cp;
    this.i += 1 + cp.length;
  }
}

/** A token being read: its raw spelling, the decoded bytes so far, and characters not yet encoded. */
interface TokenText {
  raw: string;
  parts: Buffer[];
  pending: string;
}

function flush(token: TokenText): void {
  if (token.pending !== '') token.parts.push(Buffer.from(token.pending, 'utf8'));
  token.pending = '';
}
