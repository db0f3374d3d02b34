// The compact form in which the memory engine keeps records that are no
// longer being written: one flat string per record, JSON in which every
// object is written as its shape's number followed by its values (the field
// names, the same in every record of a kind, are kept once in a shape table).
// A one-byte string costs its length plus a small header; the object graph it
// replaces costs several times that (a header and a pointer per field, boxed
// timestamps, one object per nested map). A string found in the record's
// key (its id, its parent's id) or equal to one earlier in the record (the root id an
// SDK step carries in three tags) is written as a short reference. An empty
// array or object (a promise's callbacks and listeners, a value's headers) is
// one bare number, and a timestamp is written as its distance from the
// codec's creation plus one half (a bare number with a fraction), which is
// shorter; the few literal numbers that would read as either are wrapped.
// A string that two records in a row carry in the same field (a worker's
// address in its tasks, a group's target tag) joins a bounded table of
// common strings and is written as its number there from then on.

/** An array: its items follow this marker. */
const ARRAY = -1;
/** An object whose shape is not in the table (it is full): key, value pairs follow. */
const PAIRS = -2;
/** A string found in the record's key (its id, its parent's id): start and end (none: to the end) follow. */
const KEY_SLICE = -3;
/** A string or long number written earlier in the same record: its number (in order of writing) follows. */
const REPEAT = -4;
/** A number written as itself (a literal that a bare number would misread: a fraction, or -1 .. -9). */
const LITERAL = -5;
/** Bare numbers that stand for an empty array and an empty object. */
const EMPTY_ARRAY = -1;
const EMPTY_OBJECT = -2;
/** Bare integers from this up to -1 are tokens, never literals. */
const LOWEST_TOKEN = -9;
/** A string of the table of common strings: its number follows. */
const COMMON = -6;
/** Strings kept in that table at most, and the lengths worth keeping there. */
const MAX_COMMON = 4_096;
const MIN_COMMON = 12;
const MAX_COMMON_LENGTH = 256;
/** Fields of a shape whose last string is remembered (a tag map may have many). */
const MAX_FIELDS_WATCHED = 64;
/** Timestamps this far from the codec's base at most are written as a distance (exact in a double with its half). */
const MAX_DISTANCE = 2 ** 51;
/** Strings shorter than this are written out even when they repeat or end the key. */
const MIN_REF = 6;
/** Shapes kept at most: field names are user data (tags), so the table is bounded. */
const MAX_SHAPES = 4_096;

/** A node of the shape table's trie: one field name per level, so finding a shape builds no string. */
interface ShapeNode {
  id: number | undefined;
  next: Map<string, ShapeNode> | undefined;
}

export class CompactCodec {
  private readonly shapes: string[][] = [];
  private readonly shapeTrie: ShapeNode = { id: undefined, next: undefined };
  /** The record being encoded (encode is synchronous: one at a time, so one of each is reused). */
  private readonly writing: Writing = { key: "", strings: new Map() };
  private readonly parts: string[] = [];
  /** What timestamps are written as a distance from: when the codec was made (records are written after). */
  private readonly base = Date.now();
  /** Common strings, by number (append-only, so every record written stays readable), and their numbers. */
  private readonly common: string[] = [];
  private readonly commonIds = new Map<string, number>();
  /** The last string written in each field of each shape (shape * MAX_FIELDS_WATCHED + field): a repeat there is common. */
  private readonly lastInField = new Map<number, string>();

  /** `revision` and `value` (plain JSON data, as the store keeps it) as one flat string. */
  encode(key: string, revision: number, value: unknown): string {
    this.writing.key = key;
    this.parts.push(`${revision}:`);
    try {
      this.write(value, this.writing);
      // join makes one flat string; concatenation would keep a tree of pieces alive.
      return this.parts.join("");
    } finally {
      this.writing.strings.clear();
      this.parts.length = 0;
    }
  }

  /** The revision of an encoded record, without decoding the rest. */
  revision(text: string): number {
    let n = 0;
    for (let i = 0; ; i++) {
      const c = text.charCodeAt(i);
      if (c === 58 /* : */) return n;
      n = n * 10 + (c - 48);
    }
  }

  /** A fresh copy of the value of an encoded record. */
  decode(key: string, text: string): unknown {
    return this.read(JSON.parse(text.slice(text.indexOf(":") + 1)), { key, strings: [] });
  }

  /** Shapes in the table (for tests). */
  get shapeCount(): number {
    return this.shapes.length;
  }

  private write(value: unknown, record: Writing): void {
    if (typeof value === "string") {
      this.writeString(value, record);
      return;
    }
    if (typeof value === "number") {
      this.writeNumber(value, record);
      return;
    }
    if (value === null || typeof value !== "object") {
      this.parts.push(String(value));
      return;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) {
        this.parts.push(String(EMPTY_ARRAY));
        return;
      }
      this.parts.push(`[${ARRAY}`);
      for (let i = 0; i < value.length; i++) {
        this.parts.push(",");
        this.write(value[i], record);
      }
      this.parts.push("]");
      return;
    }
    const keys = Object.keys(value);
    if (keys.length === 0) {
      this.parts.push(String(EMPTY_OBJECT));
      return;
    }
    const shape = this.shapeOf(keys);
    this.parts.push(shape === undefined ? `[${PAIRS}` : `[${shape}`);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.parts.push(shape === undefined ? `,${JSON.stringify(key)},` : ",");
      const field = (value as Record<string, unknown>)[key];
      if (typeof field === "string" && shape !== undefined && i < MAX_FIELDS_WATCHED) this.writeString(field, record, shape * MAX_FIELDS_WATCHED + i);
      else this.write(field, record);
    }
    this.parts.push("]");
  }

  private writeNumber(n: number, record: Writing): void {
    if (isLong(n)) {
      // Timestamps: a record's createdAt and settledAt are often the same.
      const earlier = record.strings.get(n);
      if (earlier !== undefined) {
        this.parts.push(`[${REPEAT},${earlier}]`);
        return;
      }
      record.strings.set(n, record.strings.size);
      if (Number.isSafeInteger(n) && Math.abs(n - this.base) < MAX_DISTANCE) {
        this.parts.push(String(n - this.base + 0.5));
        return;
      }
    }
    // A bare fraction reads as a distance, a bare -1 .. -9 as a token: such literals are wrapped.
    if (Number.isInteger(n) && !(n >= LOWEST_TOKEN && n < 0)) this.parts.push(String(n));
    else this.parts.push(`[${LITERAL},${n}]`);
  }

  /** `field`: where in a shape the string is (see lastInField), or -1. */
  private writeString(value: string, record: Writing, field = -1): void {
    if (value.length >= MIN_REF) {
      const earlier = record.strings.get(value);
      if (earlier !== undefined) {
        this.parts.push(`[${REPEAT},${earlier}]`);
        return;
      }
      record.strings.set(value, record.strings.size);
      // The record's id, or its parent's (a child id starts with it): a slice of the key.
      const at = record.key.lastIndexOf(value);
      if (at !== -1) {
        const end = at + value.length;
        this.parts.push(end === record.key.length ? `[${KEY_SLICE},${at}]` : `[${KEY_SLICE},${at},${end}]`);
        return;
      }
      if (field >= 0 && value.length >= MIN_COMMON && value.length <= MAX_COMMON_LENGTH) {
        let id = this.commonIds.get(value);
        if (id === undefined && this.common.length < MAX_COMMON) {
          if (this.lastInField.get(field) === value) {
            id = this.common.push(value) - 1;
            this.commonIds.set(value, id);
          } else {
            this.lastInField.set(field, value);
          }
        }
        if (id !== undefined) {
          this.parts.push(`[${COMMON},${id}]`);
          return;
        }
      }
    }
    this.parts.push(JSON.stringify(value));
  }

  private read(packed: unknown, record: Reading): unknown {
    if (typeof packed === "string") {
      // Numbered as the writer numbered them: every literal string long enough to be referred to.
      if (packed.length >= MIN_REF) record.strings.push(packed);
      return packed;
    }
    if (typeof packed === "number") {
      if (!Number.isInteger(packed)) {
        // A timestamp's distance from the base, plus one half.
        const n = packed - 0.5 + this.base;
        record.strings.push(n);
        return n;
      }
      if (packed === EMPTY_ARRAY) return [];
      if (packed === EMPTY_OBJECT) return {};
      if (isLong(packed)) record.strings.push(packed);
      return packed;
    }
    if (!Array.isArray(packed)) return packed;
    const tag = packed[0] as number;
    if (tag === COMMON) {
      const value = this.common[packed[1] as number]!;
      record.strings.push(value);
      return value;
    }
    if (tag === LITERAL) {
      const n = packed[1] as number;
      if (isLong(n)) record.strings.push(n);
      return n;
    }
    if (tag === ARRAY) {
      const out = new Array<unknown>(packed.length - 1);
      for (let i = 1; i < packed.length; i++) out[i - 1] = this.read(packed[i], record);
      return out;
    }
    if (tag === KEY_SLICE) {
      const value = record.key.slice(packed[1] as number, packed[2] as number | undefined);
      record.strings.push(value);
      return value;
    }
    if (tag === REPEAT) return record.strings[packed[1] as number];
    const out: Record<string, unknown> = {};
    if (tag === PAIRS) {
      for (let i = 1; i < packed.length; i += 2) setData(out, packed[i] as string, this.read(packed[i + 1], record));
      return out;
    }
    const keys = this.shapes[tag]!;
    for (let i = 0; i < keys.length; i++) setData(out, keys[i]!, this.read(packed[i + 1], record));
    return out;
  }

  private shapeOf(keys: string[]): number | undefined {
    let node = this.shapeTrie;
    for (let i = 0; i < keys.length; i++) {
      let next = node.next?.get(keys[i]!);
      if (next === undefined) {
        if (this.shapes.length >= MAX_SHAPES) return undefined;
        next = { id: undefined, next: undefined };
        (node.next ??= new Map()).set(keys[i]!, next);
      }
      node = next;
    }
    if (node.id === undefined && this.shapes.length < MAX_SHAPES) {
      node.id = this.shapes.length;
      this.shapes.push(keys);
    }
    return node.id;
  }
}

interface Writing {
  key: string;
  /** Strings and long numbers written so far that later ones may refer to, by number. */
  strings: Map<string | number, number>;
}

interface Reading {
  key: string;
  strings: (string | number)[];
}

/** A number worth a reference when it repeats (a timestamp, say). */
function isLong(n: number): boolean {
  return n >= 1e7 || n <= -1e7;
}

export function setData(target: Record<string, unknown>, key: string, value: unknown): void {
  // A "__proto__" key (a user's tag, say) is data, as JSON.parse makes it; assigning it would set the prototype.
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
