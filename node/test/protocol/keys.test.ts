import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  branchPrefixes,
  decodeToken,
  encodeToken,
  parseKey,
  partitionOf,
  promiseKey,
  requestKeys,
  scheduleKey,
  taskKey,
  treeRootOf,
  writeKey,
} from "../../src/protocol/keys.ts";

/** Any JavaScript string: full unicode, lone surrogates, control characters, the NATS wildcards. */
const anyId = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(".", ":", "*", ">", " ", "\t", "_", "~", "a", "é", "😀", "\ud800"), maxLength: 20 }),
);

describe("record keys", () => {
  it("a key names its kind and id, and parseKey gives them back", () => {
    fc.assert(
      fc.property(anyId, (id) => {
        expect(parseKey(promiseKey(id))).toEqual({ kind: "promise", id });
        expect(parseKey(taskKey(id))).toEqual({ kind: "task", id });
        expect(parseKey(scheduleKey(id))).toEqual({ kind: "schedule", id });
      }),
    );
  });

  it("a key outside the layout parses to undefined", () => {
    expect(parseKey("x/a")).toBeUndefined();
    expect(parseKey("")).toBeUndefined();
  });

  it("a write goes to the key of its record", () => {
    const promise = { id: "a.1" } as never;
    expect(writeKey({ type: "promise", record: promise })).toBe("p/a.1");
    expect(writeKey({ type: "task", record: promise })).toBe("t/a.1");
    expect(writeKey({ type: "schedule", record: promise })).toBe("s/a.1");
    expect(writeKey({ type: "schedule.delete", id: "a.1" })).toBe("s/a.1");
  });

  it("a branch's members live under its id followed by '.' or ':'", () => {
    expect(branchPrefixes("wf")).toEqual(["p/wf.", "p/wf:"]);
  });
});

describe("the keys a request reads first", () => {
  it("a promise request reads the promise and task of its id", () => {
    expect(requestKeys({ kind: "promise.get", data: { id: "a" } })).toEqual(["p/a", "t/a"]);
  });

  it("a callback registration reads the awaiter's promise and task and the awaited promise", () => {
    expect(requestKeys({ kind: "promise.register_callback", data: { awaiter: "a", awaited: "b" } })).toEqual(["p/a", "t/a", "p/b"]);
  });

  it("a suspend reads its task and every awaited promise", () => {
    const keys = requestKeys({
      kind: "task.suspend",
      data: {
        id: "a",
        version: 1,
        actions: [
          { kind: "promise.register_callback", data: { awaiter: "a", awaited: "b" } },
          { kind: "promise.register_callback", data: { awaiter: "a", awaited: "c" } },
        ],
      },
    });
    expect(keys).toEqual(["p/a", "t/a", "p/b", "p/c"]);
  });

  it("a heartbeat reads every task it names", () => {
    const keys = requestKeys({ kind: "task.heartbeat", data: { pid: "w", tasks: [{ id: "a", version: 1 }, { id: "b", version: 2 }] } });
    expect(keys).toEqual(["p/a", "t/a", "p/b", "t/b"]);
  });

  it("a schedule request reads its schedule only", () => {
    expect(requestKeys({ kind: "schedule.delete", data: { id: "s1" } })).toEqual(["s/s1"]);
  });

  it("a search reads no record", () => {
    expect(requestKeys({ kind: "promise.search", data: { id: "a*" } })).toEqual([]);
  });
});

describe("partitions", () => {
  it("every id of a call tree has its root's partition, whatever the separator", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => !s.includes(".") && !s.includes(":")),
        fc.array(fc.tuple(fc.constantFrom(".", ":"), fc.string({ maxLength: 6 })), { maxLength: 5 }),
        fc.integer({ min: 1, max: 64 }),
        (root, path, partitions) => {
          const id = root + path.map(([sep, part]) => sep + part).join("");
          expect(treeRootOf(id)).toBe(root);
          const p = partitionOf(promiseKey(id), partitions);
          expect(p).toBe(partitionOf(promiseKey(root), partitions));
          expect(partitionOf(taskKey(id), partitions)).toBe(p);
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThan(partitions);
        },
      ),
    );
  });

  it("a dotted root and its ':' children share a partition", () => {
    for (const partitions of [2, 4, 8, 16]) {
      expect(partitionOf("p/my.app.wf:1", partitions)).toBe(partitionOf("p/my.app.wf", partitions));
    }
  });

  it("ids spread over the partitions", () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8_000; i++) counts[partitionOf(promiseKey(`wf-${i}`), 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });
});

describe("subject tokens", () => {
  it("decoding an encoded id gives the id back, for any string", () => {
    fc.assert(fc.property(anyId, (id) => {
        expect(decodeToken(encodeToken(id))).toBe(id);
      }), { numRuns: 2_000 });
  });

  it("a token is one valid NATS subject token: non-empty, no '.', '*', '>' or whitespace, printable ASCII", () => {
    fc.assert(
      fc.property(anyId, (id) => {
        const token = encodeToken(id);
        expect(token.length).toBeGreaterThan(0);
        expect(token).toMatch(/^[\x21-\x7e]+$/);
        expect(token).not.toMatch(/[.*>]/);
      }),
      { numRuns: 2_000 },
    );
  });

  it("different ids get different tokens", () => {
    fc.assert(
      fc.property(anyId, anyId, (a, b) => {
        fc.pre(a !== b);
        expect(encodeToken(a)).not.toBe(encodeToken(b));
      }),
    );
  });

  it("letters, digits and '-' stay readable", () => {
    expect(encodeToken("order-42")).toBe("order-42");
    expect(encodeToken("a.b:c")).toBe("a_2Eb_3Ac");
    expect(encodeToken("")).toBe("_");
    expect(encodeToken("é")).toBe("_E9");
    expect(encodeToken("😀")).toBe("~D83D~DE00");
  });

  it("a token no id encodes to is refused with an error naming it", () => {
    for (const bad of ["a.b", "_4", "_zz", "_41", "~0041", "a b", "~12"]) {
      expect(() => decodeToken(bad)).toThrow(/not an encoded subject token/);
    }
  });
});
