// JSON for the envelope protocol with exact 64-bit integers. Go, Rust and Java
// senders write int64 values such as 9223372036854775807 ("never"); a plain
// JSON.parse rounds that to 2^63, which no longer says what was sent, and a
// plain JSON.stringify of 2^63 writes 9223372036854776000, which an int64
// reader rejects. Here an integer literal beyond 2^53 - 1 parses to a bigint
// and a bigint is written as its digits; everything else is exactly
// JSON.parse / JSON.stringify, which also serve the common case untouched.

/** A run of 16 digits: the only way a text can hold an integer beyond 2^53 - 1 (16 digits). */
const LONG_DIGITS = /\d{16}/;

/**
 * JSON.parse, except that integer literals outside the safe range become
 * bigints. Throws SyntaxError, with JSON.parse's message, on invalid JSON.
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // Long digit runs inside strings (base64 payloads) make this a false alarm at worst.
  return LONG_DIGITS.test(text) ? new ExactParser(text).document() : value;
}

/** JSON.stringify, except that a bigint is written as its digits (a JSON number). */
export function stringifyJson(value: unknown): string {
  let bigints = false;
  let marked = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") {
      bigints = true;
      return `${MARK}${v}${MARK}`;
    }
    if (typeof v === "string" && v.includes(MARK)) marked = true;
    return v;
  });
  if (!bigints) return text;
  // A string that itself contains the mark cannot be told apart in the text: write it the slow way.
  if (marked) return exactStringify(value);
  return text.replace(MARKED, "$1");
}

// A control character, so JSON.stringify escapes it to the six characters
// \u0001 wherever a string holds it; the quotes around the digits go too.
const MARK = "\u0001";
const MARKED = /"\\u0001(-?\d+)\\u0001"/g;

function exactStringify(value: unknown): string {
  // Let JSON.stringify apply toJSON and drop what it drops (undefined, functions) first.
  if (typeof value === "bigint") return value.toString();
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return exactStringify((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined || typeof v === "function" || typeof v === "symbol" ? "null" : exactStringify(v))).join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      parts.push(`${JSON.stringify(k)}:${exactStringify(v)}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * A recursive-descent reader for text JSON.parse has already accepted, so it
 * only has to build values: strings are decoded by JSON.parse itself, numbers
 * by Number or BigInt, objects keep `__proto__` as an own key like JSON.parse.
 */
class ExactParser {
  private at = 0;

  constructor(private readonly text: string) {}

  document(): unknown {
    this.space();
    return this.value();
  }

  private value(): unknown {
    const c = this.text[this.at];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "t") return this.word("true", true);
    if (c === "f") return this.word("false", false);
    if (c === "n") return this.word("null", null);
    return this.number();
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.at++;
    this.space();
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      const key = this.string();
      this.space();
      this.at++; // ':'
      this.space();
      Object.defineProperty(out, key, { value: this.value(), writable: true, enumerable: true, configurable: true });
      this.space();
      if (this.text[this.at++] === "}") return out; // else ','
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.at++;
    this.space();
    if (this.text[this.at] === "]") {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      out.push(this.value());
      this.space();
      if (this.text[this.at++] === "]") return out; // else ','
    }
  }

  private string(): string {
    const start = this.at;
    this.at++;
    for (;;) {
      const c = this.text[this.at++];
      if (c === "\\") this.at++;
      else if (c === '"') break;
    }
    const literal = this.text.slice(start, this.at);
    return literal.includes("\\") ? (JSON.parse(literal) as string) : literal.slice(1, -1);
  }

  private number(): number | bigint {
    const start = this.at;
    let integer = true;
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined || !"0123456789+-.eE".includes(c)) break;
      if (c === "." || c === "e" || c === "E") integer = false;
      this.at++;
    }
    const literal = this.text.slice(start, this.at);
    const n = Number(literal);
    return integer && !Number.isSafeInteger(n) ? BigInt(literal) : n;
  }

  private word<T>(word: string, value: T): T {
    this.at += word.length;
    return value;
  }

  private space(): void {
    for (;;) {
      const c = this.text[this.at];
      if (c !== " " && c !== "\t" && c !== "\n" && c !== "\r") return;
      this.at++;
    }
  }
}
