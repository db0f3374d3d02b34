// The key index both engines list from: whatever order keys come and go in
// (in order, as time-ordered ids do; shuffled), a listing page is the
// sorted keys under the prefix after the cursor, up to the limit.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SortedKeys } from "../../src/store/sorted-keys.ts";

const COUNT = 3_000; // several blocks: splits and new last blocks both happen

function expectPages(index: SortedKeys, keys: Set<string>): void {
  const sorted = [...keys].sort();
  expect(index.size).toBe(sorted.length);
  expect([...index.page({ prefix: "" })]).toEqual(sorted);
  const after = sorted[Math.floor(sorted.length / 3)];
  expect([...index.page({ prefix: "k", after, limit: 700 })]).toEqual(sorted.filter((k) => after === undefined || k > after).slice(0, 700));
}

describe("sorted keys", () => {
  it("list keys inserted in order, then with every other one deleted", () => {
    const index = new SortedKeys();
    const keys = new Set<string>();
    for (let i = 0; i < COUNT; i++) {
      const key = `k${String(i).padStart(6, "0")}`;
      index.insert(key);
      keys.add(key);
    }
    expectPages(index, keys);
    for (const key of [...keys].filter((_, i) => i % 2 === 0)) {
      index.delete(key);
      keys.delete(key);
    }
    expectPages(index, keys);
  });

  it("list keys inserted and deleted in any order, as a sorted set would", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 5_000 })), { minLength: COUNT, maxLength: COUNT }), (ops) => {
        const index = new SortedKeys();
        const keys = new Set<string>();
        for (const [insert, n] of ops) {
          const key = `k${n}`;
          if (insert || !keys.has(key)) {
            index.insert(key);
            keys.add(key);
          } else {
            index.delete(key);
            keys.delete(key);
          }
        }
        expectPages(index, keys);
      }),
      { numRuns: 20 },
    );
  });
});
