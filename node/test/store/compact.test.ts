// The compact form of cold records in the memory engine gives back exactly
// the value it was given (a JSON value), for any key and revision.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompactCodec } from "../../src/store/compact.ts";

/** JSON values whose strings often repeat each other or the end of the key. */
const key = fc.constantFrom("p/wf-123", "p/wf-123.1", "p/wf-123.wf-123", "t/x", "s/schedule-1", "p/");
const word = fc.oneof(
  fc.constantFrom("wf-123", "wf-123.1", "123.1", "resolved", "__proto__", "", "schedule-1", "ünïcödé-ü", "poll://any@workers/p1", "a string in common"),
  fc.string(),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    word,
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
    fc.integer(),
    // Around the tokens (-1 .. -9) and timestamps near now (written as a distance), fractions, the edges of safe integers.
    fc.integer({ min: -12, max: 12 }),
    fc.integer({ min: -1e9, max: 1e9 }).map((d) => Date.now() + d),
    fc.constantFrom(0.5, -0.5, 1e7, -1e7, 1e7 + 0.5, Date.now() + 0.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 60, 1e300),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(word, tie("value"), { maxKeys: 4 }),
  ),
})).value;

describe("compact records", () => {
  it("decode gives back the value and revision that were encoded", () => {
    const codec = new CompactCodec();
    fc.assert(
      fc.property(key, fc.nat(), json, (k, revision, value) => {
        const text = codec.encode(k, revision, value);
        expect(codec.revision(text)).toBe(revision);
        expect(codec.decode(k, text)).toStrictEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 2_000 },
    );
  });

  it("a __proto__ field comes back as data, not as the prototype", () => {
    const codec = new CompactCodec();
    const value = JSON.parse('{"tags":{"__proto__":"x"}}') as unknown;
    const back = codec.decode("p/a", codec.encode("p/a", 1, value)) as { tags: object };
    expect(Object.keys(back.tags)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(back.tags)).toBe(Object.prototype);
  });

  it("the record's own id and its parent's are references to its key; a repeated timestamp is written once", () => {
    const codec = new CompactCodec();
    const value = { id: "wf-root.1", tags: { origin: "wf-root", parent: "wf-root" }, createdAt: 1_796_187_443_467, settledAt: 1_796_187_443_467 };
    const text = codec.encode("p/wf-root.1", 7, value);
    expect(text.split("root").length - 1).toBe(0);
    const different = codec.encode("p/wf-root.1", 7, { ...value, settledAt: value.settledAt + 1 });
    expect(text.length).toBeLessThan(different.length);
    expect(codec.decode("p/wf-root.1", text)).toEqual(value);
  });

  it("a string two records in a row carry in the same field is written as a reference from then on, and every record still reads back", () => {
    const codec = new CompactCodec();
    const address = "poll://any@workers/4f0e9a6b2c";
    const target = "poll://any@workers";
    const task = (id: string) => ({ id, state: "fulfilled", address, tags: { "resonate:target": target } });
    const texts = ["t/a", "t/b", "t/c"].map((k) => [k, codec.encode(k, 1, task(k.slice(2)))] as const);
    expect(texts[0]![1]).toContain(address);
    expect(texts[2]![1]).not.toContain(address);
    expect(texts[2]![1]).not.toContain(target);
    for (const [k, text] of texts) expect(codec.decode(k, text)).toStrictEqual(task(k.slice(2)));
  });

  it("empty arrays and objects, and timestamps near the codec's creation, are written shorter than their JSON", () => {
    const codec = new CompactCodec();
    const now = Date.now();
    const value = { callbacks: [], listeners: [], headers: {}, createdAt: now, timeoutAt: now + 86_400_000 };
    const text = codec.encode("p/x", 1, value);
    expect(text.length).toBeLessThan(JSON.stringify(Object.values(value)).length);
    expect(codec.decode("p/x", text)).toStrictEqual(value);
  });
});
