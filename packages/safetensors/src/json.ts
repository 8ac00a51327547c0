import { SafetensorsError } from './errors.js';

/**
 * A strict JSON parser over UTF-8 bytes. JSON.parse would do, except that it
 * silently keeps the last of two duplicate keys and cannot say at which byte
 * a problem is; safetensors forbids duplicates, and an error message should
 * point into the file. It also keeps each key's byte offset and whether a
 * number was written as an integer (`2`, not `2.0` or `2e0`), as the Rust
 * reader's serde does.
 */

export type JsonValue = null | boolean | JsonNumber | string | JsonValue[] | JsonObject;

export class JsonNumber {
  constructor(
    readonly value: number,
    /** Written without a fraction or exponent. */
    readonly integer: boolean,
  ) {}
}

export interface JsonMember {
  readonly key: string;
  readonly value: JsonValue;
  /** Offset of the key's opening quote, relative to the parsed bytes plus `baseOffset`. */
  readonly keyOffset: number;
  readonly valueOffset: number;
}

export class JsonObject {
  readonly members: JsonMember[] = [];
  // Most objects have a few members and are searched linearly; big ones (the top level) get an index.
  private index?: Map<string, JsonMember>;

  get(key: string): JsonMember | undefined {
    if (this.index) return this.index.get(key);
    for (const member of this.members) if (member.key === key) return member;
    return undefined;
  }

  /** Returns false when the key is already present. */
  add(member: JsonMember): boolean {
    if (this.get(member.key)) return false;
    this.members.push(member);
    if (this.index) this.index.set(member.key, member);
    else if (this.members.length > 8) this.index = new Map(this.members.map((m) => [m.key, m]));
    return true;
  }
}

export interface ParseJsonOptions {
  /** Named in errors. */
  source: string;
  /** Added to every offset: where `bytes` starts in the file. */
  baseOffset?: number;
  /** What the bytes are, for messages ("header", "index"). */
  what?: string;
  maxDepth?: number;
}

/** Nesting deeper than serde_json's default recursion limit is refused, which also bounds our stack. */
const DEFAULT_MAX_DEPTH = 128;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses one JSON value followed only by JSON whitespace. */
export function parseJson(bytes: Uint8Array, options: ParseJsonOptions): JsonValue {
  return new Parser(bytes, options).document();
}

function describeByte(byte: number | undefined): string {
  if (byte === undefined) return 'end of input';
  if (byte >= 0x21 && byte <= 0x7e) return `'${String.fromCharCode(byte)}'`;
  return `byte 0x${byte.toString(16).padStart(2, '0')}`;
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

class Parser {
  private pos = 0;
  private readonly interned = new Map<number, string>();
  private readonly base: number;
  private readonly what: string;
  private readonly maxDepth: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: ParseJsonOptions,
  ) {
    this.base = options.baseOffset ?? 0;
    this.what = options.what ?? 'JSON';
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  fail(reason: string, expected?: string, at = this.pos): SafetensorsError {
    return new SafetensorsError(`invalid ${this.what} JSON: ${reason}`, {
      source: this.options.source,
      offset: this.base + at,
      expected,
      found: expected === undefined ? undefined : describeByte(this.bytes[at]),
    });
  }

  document(): JsonValue {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.bytes.length) throw this.fail('unexpected data after the JSON value', 'end of input');
    return value;
  }

  private skipWhitespace(): void {
    const bytes = this.bytes;
    while (this.pos < bytes.length && isWhitespace(bytes[this.pos])) this.pos++;
  }

  private value(depth: number): JsonValue {
    const byte = this.bytes[this.pos];
    switch (byte) {
      case 0x7b:
        return this.object(depth + 1);
      case 0x5b:
        return this.array(depth + 1);
      case 0x22:
        return this.string();
      case 0x74:
        return this.literal('true', true);
      case 0x66:
        return this.literal('false', false);
      case 0x6e:
        return this.literal('null', null);
      default:
        if (byte === 0x2d || (byte >= 0x30 && byte <= 0x39)) return this.number();
        throw this.fail('expected a value', 'a JSON value');
    }
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) throw this.fail('nested too deeply', `at most ${this.maxDepth} levels`);
  }

  private object(depth: number): JsonObject {
    this.enter(depth);
    const result = new JsonObject();
    this.pos++;
    this.skipWhitespace();
    if (this.bytes[this.pos] === 0x7d) {
      this.pos++;
      return result;
    }
    for (;;) {
      if (this.bytes[this.pos] !== 0x22) throw this.fail('expected a key', "'\"'");
      const keyOffset = this.pos;
      const key = this.string();
      this.skipWhitespace();
      if (this.bytes[this.pos] !== 0x3a) throw this.fail("expected ':' after a key", "':'");
      this.pos++;
      this.skipWhitespace();
      const valueOffset = this.pos;
      const value = this.value(depth);
      if (!result.add({ key, value, keyOffset: this.base + keyOffset, valueOffset: this.base + valueOffset })) {
        const first = result.get(key)?.keyOffset;
        throw new SafetensorsError(`invalid ${this.what} JSON: duplicate key (JSON.parse would keep the last one)`, {
          source: this.options.source,
          offset: this.base + keyOffset,
          key,
          expected: 'each key once',
          found: `a second "${key}" (the first is at offset ${first})`,
        });
      }
      this.skipWhitespace();
      const next = this.bytes[this.pos];
      if (next === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (next === 0x7d) {
        this.pos++;
        return result;
      } else throw this.fail("expected ',' or '}'", "',' or '}'");
    }
  }

  private array(depth: number): JsonValue[] {
    this.enter(depth);
    const result: JsonValue[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.bytes[this.pos] === 0x5d) {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth));
      this.skipWhitespace();
      const next = this.bytes[this.pos];
      if (next === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (next === 0x5d) {
        this.pos++;
        return result;
      } else throw this.fail("expected ',' or ']'", "',' or ']'");
    }
  }

  private literal<T>(text: string, value: T): T {
    for (let i = 0; i < text.length; i++) {
      if (this.bytes[this.pos + i] !== text.charCodeAt(i)) throw this.fail(`expected ${text}`, text, this.pos + i);
    }
    this.pos += text.length;
    return value;
  }

  private number(): JsonNumber {
    const bytes = this.bytes;
    const start = this.pos;
    let integer = true;
    // Digits are accumulated as they are scanned; only fractions and exponents go through Number(text).
    let value = 0;
    const digits = () => {
      const from = this.pos;
      while (bytes[this.pos] >= 0x30 && bytes[this.pos] <= 0x39) value = value * 10 + (bytes[this.pos++] - 0x30);
      if (this.pos === from) throw this.fail('expected a digit', 'a digit');
    };
    const negative = bytes[this.pos] === 0x2d;
    if (negative) this.pos++;
    if (bytes[this.pos] === 0x30) {
      this.pos++;
      if (bytes[this.pos] >= 0x30 && bytes[this.pos] <= 0x39) throw this.fail('leading zero in a number');
    } else digits();
    if (bytes[this.pos] === 0x2e) {
      integer = false;
      this.pos++;
      digits();
    }
    if (bytes[this.pos] === 0x65 || bytes[this.pos] === 0x45) {
      integer = false;
      this.pos++;
      if (bytes[this.pos] === 0x2b || bytes[this.pos] === 0x2d) this.pos++;
      digits();
    }
    // Accumulation is exact below 2^53; anything else is parsed from the text, as JSON.parse would.
    if (integer && value <= Number.MAX_SAFE_INTEGER) return new JsonNumber(negative ? -value : value, true);
    let text = '';
    for (let i = start; i < this.pos; i++) text += String.fromCharCode(bytes[i]);
    return new JsonNumber(Number(text), integer);
  }

  private string(): string {
    const bytes = this.bytes;
    const start = ++this.pos;
    // Fast path: no escapes. Bytes ≥ 0x80 are checked by the fatal UTF-8 decoder.
    let ascii = true;
    for (;;) {
      const byte = bytes[this.pos];
      if (byte === undefined) throw this.fail('unterminated string', "'\"'");
      if (byte === 0x22) {
        const end = this.pos++;
        return ascii ? this.ascii(start, end) : this.decode(start, end);
      }
      if (byte === 0x5c) break;
      if (byte < 0x20) throw this.fail('control character in a string (it must be escaped)', 'a printable character');
      if (byte >= 0x80) ascii = false;
      this.pos++;
    }
    // Slow path: collect runs between escapes.
    let out = this.decode(start, this.pos);
    for (;;) {
      const byte = bytes[this.pos];
      if (byte === undefined) throw this.fail('unterminated string', "'\"'");
      if (byte === 0x22) {
        this.pos++;
        return out;
      }
      if (byte === 0x5c) {
        out += this.escape();
        continue;
      }
      const runStart = this.pos;
      while (this.pos < bytes.length && bytes[this.pos] !== 0x22 && bytes[this.pos] !== 0x5c) {
        if (bytes[this.pos] < 0x20) throw this.fail('control character in a string (it must be escaped)');
        this.pos++;
      }
      out += this.decode(runStart, this.pos);
    }
  }

  /**
   * Short ASCII strings repeat ("dtype", "shape", "BF16" … once per tensor),
   * so they are interned by a hash of their bytes instead of decoded each time.
   */
  private ascii(start: number, end: number): string {
    const bytes = this.bytes;
    if (end - start > 16) return utf8.decode(bytes.subarray(start, end));
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
    const cached = this.interned.get(hash);
    if (cached !== undefined && cached.length === end - start) {
      let same = true;
      for (let i = 0; same && i < cached.length; i++) same = cached.charCodeAt(i) === bytes[start + i];
      if (same) return cached;
    }
    const text = String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
    this.interned.set(hash, text);
    return text;
  }

  private decode(start: number, end: number): string {
    try {
      return utf8.decode(this.bytes.subarray(start, end));
    } catch {
      throw this.fail('invalid UTF-8 in a string', 'UTF-8', firstInvalidUtf8(this.bytes, start, end));
    }
  }

  private escape(): string {
    const bytes = this.bytes;
    const at = this.pos;
    const kind = bytes[this.pos + 1];
    this.pos += 2;
    switch (kind) {
      case 0x22:
        return '"';
      case 0x5c:
        return '\\';
      case 0x2f:
        return '/';
      case 0x62:
        return '\b';
      case 0x66:
        return '\f';
      case 0x6e:
        return '\n';
      case 0x72:
        return '\r';
      case 0x74:
        return '\t';
      case 0x75: {
        const unit = this.hex4();
        if (unit >= 0xdc00 && unit <= 0xdfff) throw this.fail('lone low surrogate in a \\u escape', undefined, at);
        if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
        // A high surrogate must be followed by an escaped low one, as serde_json requires.
        if (bytes[this.pos] !== 0x5c || bytes[this.pos + 1] !== 0x75) {
          throw this.fail('lone high surrogate in a \\u escape', undefined, at);
        }
        this.pos += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) throw this.fail('high surrogate not followed by a low one', undefined, at);
        return String.fromCharCode(unit, low);
      }
      default:
        this.pos = at + 1;
        throw this.fail('invalid escape', 'one of " \\ / b f n r t u');
    }
  }

  private hex4(): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const byte = this.bytes[this.pos];
      const digit =
        byte >= 0x30 && byte <= 0x39
          ? byte - 0x30
          : byte >= 0x61 && byte <= 0x66
            ? byte - 0x57
            : byte >= 0x41 && byte <= 0x46
              ? byte - 0x37
              : -1;
      if (digit < 0) throw this.fail('expected a hex digit in a \\u escape', 'a hex digit');
      value = value * 16 + digit;
      this.pos++;
    }
    return value;
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence (only called once decoding has failed). */
function firstInvalidUtf8(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const lead = bytes[i];
    let length: number;
    let min: number;
    if (lead < 0x80) {
      i++;
      continue;
    } else if (lead >= 0xc2 && lead <= 0xdf) [length, min] = [2, 0x80];
    else if (lead >= 0xe0 && lead <= 0xef) [length, min] = [3, 0x800];
    else if (lead >= 0xf0 && lead <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    if (i + length > end) return i;
    let code = lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if ((next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += length;
  }
  return end - 1;
}

/** A short description of a JSON value's type, for error messages. */
export function jsonTypeName(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (value instanceof JsonNumber) return value.integer ? 'an integer' : 'a non-integer number';
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

/**
 * The value as plain JavaScript, numbers as numbers. Objects have no
 * prototype: keys come from the file, and `__proto__` or `toString` must read
 * as what the file says (or nothing), never as Object.prototype's.
 */
export function toPlain(value: JsonValue): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof JsonNumber) return value.value;
  if (Array.isArray(value)) return value.map(toPlain);
  const out: Record<string, unknown> = Object.create(null);
  for (const member of value.members) out[member.key] = toPlain(member.value);
  return out;
}
