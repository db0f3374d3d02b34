// HPACK (RFC 7541) for the raw HTTP/2 client: the static table, a decoder
// with its dynamic table and Huffman strings, and the few literal encodings
// the client sends (never indexed, never Huffman: the block of a method's
// request headers is built once and reused).

/** RFC 7541 Appendix A. Index 1 is STATIC[0]. */
const STATIC: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** Huffman codes of bytes 0..255 (RFC 7541 Appendix B), and their lengths in bits. */
const HUFFMAN_CODES = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
];
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];

const EOS = 256;
const EMPTY = Buffer.alloc(0);

/**
 * The Huffman code as a binary tree in one array: node n's children are at
 * 2n (bit 0) and 2n+1 (bit 1); a value < 0 is the leaf of symbol -value - 1.
 */
const tree = buildTree();

function buildTree(): Int32Array {
  const codes = [...HUFFMAN_CODES, 0x3fffffff];
  const lengths = [...HUFFMAN_LENGTHS, 30];
  // 257 leaves need 256 inner nodes; node 0 is the root.
  const out = new Int32Array(2 * 256).fill(0);
  let nodes = 1;
  for (let symbol = 0; symbol < codes.length; symbol++) {
    const code = codes[symbol]!;
    const length = lengths[symbol]!;
    let node = 0;
    for (let i = length - 1; i > 0; i--) {
      const slot = 2 * node + ((code >>> i) & 1);
      if (out[slot] === 0) out[slot] = nodes++;
      node = out[slot]!;
    }
    out[2 * node + (code & 1)] = -symbol - 1;
  }
  return out;
}

/** A header block that does not decode: the connection cannot go on (COMPRESSION_ERROR). */
export class HpackError extends Error {
  constructor(message: string) {
    super(`HPACK: ${message}`);
    this.name = "HpackError";
  }
}

function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  let node = 0;
  // Bits since the last symbol, and whether all were 1: the padding must be a prefix of EOS, shorter than a byte.
  let pending = 0;
  let ones = true;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      const next = tree[2 * node + b]!;
      pending++;
      if (b === 0) ones = false;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) throw new HpackError("a Huffman string contains EOS");
        out += String.fromCharCode(symbol);
        node = 0;
        pending = 0;
        ones = true;
      } else {
        if (next === 0) throw new HpackError("an invalid Huffman code");
        node = next;
      }
    }
  }
  if (pending > 7 || !ones) throw new HpackError("invalid Huffman padding");
  return out;
}

/** Decoded header fields: one value per name, or all of them in order when a name repeats. */
export type HeaderFields = Record<string, string | string[]>;

/** The decoder of one connection: its dynamic table lives as long as the connection. */
export class HpackDecoder {
  /** Newest last. */
  private readonly table: [string, string][] = [];
  private size = 0;
  private maxSize: number;
  private offset = 0;
  private bytes: Buffer = EMPTY;
  /** Changes whenever the dynamic table does. */
  private version = 0;
  /**
   * Small blocks that left the table as it was, decoded: a node answers every
   * call with the same few blocks (all fields indexed once its table holds
   * them). The fields are shared: callers must not change them.
   */
  private readonly cache = new Map<string, HeaderFields>();

  /** `limit`: the SETTINGS_HEADER_TABLE_SIZE this side announced (the default, 4096). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  decode(block: Buffer): HeaderFields {
    if (block.length > 64) return this.decodeBlock(block);
    const key = `${this.version}:${block.toString("latin1")}`;
    let fields = this.cache.get(key);
    if (fields !== undefined) return fields;
    const version = this.version;
    fields = this.decodeBlock(block);
    if (this.version === version) {
      if (this.cache.size >= 256) this.cache.clear();
      this.cache.set(key, fields);
    }
    return fields;
  }

  private decodeBlock(block: Buffer): HeaderFields {
    this.bytes = block;
    this.offset = 0;
    const fields: HeaderFields = {};
    let fieldSeen = false;
    while (this.offset < block.length) {
      const first = block[this.offset]!;
      let name: string;
      let value: string;
      if (first & 0x80) {
        [name, value] = this.entry(this.integer(7));
      } else if (first & 0x40) {
        const index = this.integer(6);
        name = index === 0 ? this.string() : this.entry(index)[0];
        value = this.string();
        this.add(name, value);
      } else if (first & 0x20) {
        if (fieldSeen) throw new HpackError("a table size update after a header field");
        const size = this.integer(5);
        if (size > this.limit) throw new HpackError(`a table size of ${size} above the ${this.limit} allowed`);
        this.maxSize = size;
        this.version++;
        this.evict(0);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): 4-bit prefix.
        const index = this.integer(4);
        name = index === 0 ? this.string() : this.entry(index)[0];
        value = this.string();
      }
      fieldSeen = true;
      const existing = fields[name];
      if (existing === undefined) fields[name] = value;
      else if (typeof existing === "string") fields[name] = [existing, value];
      else existing.push(value);
    }
    this.bytes = EMPTY;
    return fields;
  }

  private entry(index: number): [string, string] | readonly [string, string] {
    if (index === 0) throw new HpackError("index 0");
    if (index <= STATIC.length) return STATIC[index - 1]!;
    const entry = this.table[this.table.length - (index - STATIC.length)];
    if (entry === undefined) throw new HpackError(`index ${index} is past the tables`);
    return entry;
  }

  private add(name: string, value: string): void {
    this.version++;
    const size = name.length + value.length + 32;
    this.evict(size);
    if (size <= this.maxSize) {
      this.table.push([name, value]);
      this.size += size;
    }
  }

  /** Evict the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    let drop = 0;
    while (this.size + room > this.maxSize && drop < this.table.length) {
      const [n, v] = this.table[drop++]!;
      this.size -= n.length + v.length + 32;
    }
    if (drop > 0) this.table.splice(0, drop);
  }

  private integer(prefixBits: number): number {
    const bytes = this.bytes;
    const mask = (1 << prefixBits) - 1;
    let value = bytes[this.offset++]! & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.offset >= bytes.length) throw new HpackError("a truncated integer");
      const b = bytes[this.offset++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
      if (shift > 28) throw new HpackError("an integer too large");
    }
    return value;
  }

  private string(): string {
    if (this.offset >= this.bytes.length) throw new HpackError("a truncated string");
    const huffman = (this.bytes[this.offset]! & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.offset;
    const end = start + length;
    if (end > this.bytes.length) throw new HpackError("a truncated string");
    this.offset = end;
    if (huffman) return huffmanDecode(this.bytes, start, end);
    return this.bytes.toString("latin1", start, end);
  }
}

// ------------------------------------------------------------ encoding

function integer(out: number[], value: number, prefixBits: number, flags: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function literalString(out: number[], text: string): void {
  const bytes = Buffer.from(text, "utf8");
  integer(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

const staticIndex = new Map<string, number>();
const staticNameIndex = new Map<string, number>();
STATIC.forEach(([name, value], i) => {
  staticIndex.set(`${name}\0${value}`, i + 1);
  if (!staticNameIndex.has(name)) staticNameIndex.set(name, i + 1);
});

/**
 * Header fields as an HPACK block that leaves the peer's dynamic table alone:
 * a field of the static table by its index, any other as a literal without
 * indexing (the name by its static index when it has one).
 */
export function encodeHeaders(fields: Iterable<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const exact = staticIndex.get(`${name}\0${value}`);
    if (exact !== undefined) {
      integer(out, exact, 7, 0x80);
      continue;
    }
    const nameIndex = staticNameIndex.get(name);
    if (nameIndex !== undefined) {
      integer(out, nameIndex, 4, 0);
    } else {
      out.push(0);
      literalString(out, name);
    }
    literalString(out, value);
  }
  return Buffer.from(out);
}
