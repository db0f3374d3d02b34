// Postings of the search indexes hold a set of slots in the order of their
// keys, whatever their size (a number, a small array, chunks that grow and
// split), through any mix of adds and deletes.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { postingAdd, postingDelete, postingFrom, postingSize, SortedSlots, type Posting } from "../../src/mesh/sorted-ids.ts";

/** Keys whose order differs from slot order, so sorting by slot would be caught. */
const keyOf = (slot: number) => `k${String((slot * 7919) % 10_007).padStart(5, "0")}`;
const byKey = (a: number, b: number) => (keyOf(a) < keyOf(b) ? -1 : 1);

const ops = fc.array(fc.record({ add: fc.boolean(), slot: fc.integer({ min: 0, max: 3_000 }) }), { maxLength: 4_000 });

describe("postings", () => {
  it("a posting holds exactly the slots added and not deleted since, in key order, from any key on", () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 0, max: 3_000 }), (steps, from) => {
        let posting: Posting | undefined;
        const model = new Set<number>();
        for (const { add, slot } of steps) {
          if (add) {
            posting = postingAdd(posting, slot, keyOf);
            model.add(slot);
          } else {
            posting = postingDelete(posting, slot, keyOf);
            model.delete(slot);
          }
        }
        const sorted = [...model].sort(byKey);
        expect(postingSize(posting)).toBe(model.size);
        expect([...{ [Symbol.iterator]: () => postingFrom(posting, undefined, keyOf) }]).toEqual(sorted);
        const after = keyOf(from);
        expect([...{ [Symbol.iterator]: () => postingFrom(posting, after, keyOf) }]).toEqual(sorted.filter((s) => keyOf(s) > after));
      }),
      { numRuns: 60 },
    );
  });

  it("members added in key order, then others between them and deletes, stay in key order and are found", () => {
    // Keys in slot order: adding slots in ascending order appends to the last chunk.
    const orderedKeyOf = (slot: number) => `k${String(slot).padStart(6, "0")}`;
    const slots = new SortedSlots(orderedKeyOf);
    for (let s = 0; s < 5_000; s += 2) slots.add(s);
    for (let s = 0; s < 5_000; s += 2) slots.add(s); // already members: no duplicates
    for (let s = 1; s < 5_000; s += 2) slots.add(s);
    for (let s = 0; s < 5_000; s += 5) slots.delete(s);
    for (let s = 5_000; s < 6_500; s++) slots.add(s);
    const expected = Array.from({ length: 6_500 }, (_, s) => s).filter((s) => s >= 5_000 || s % 5 !== 0);
    expect(slots.size).toBe(expected.length);
    expect([...slots.from(undefined)]).toEqual(expected);
    expect([...slots.from(orderedKeyOf(4_999))]).toEqual(expected.filter((s) => s > 4_999));
    for (let s = 0; s < 6_500; s++) expect(slots.find(orderedKeyOf(s))).toBe(s < 5_000 && s % 5 === 0 ? undefined : s);
  });

  it("a posting whose members mostly arrive in key order holds exactly the slots added and not deleted since", () => {
    const orderedKeyOf = (slot: number) => `k${String(slot).padStart(6, "0")}`;
    const rising = fc.array(fc.record({ add: fc.integer({ min: 0, max: 9 }), step: fc.integer({ min: -40, max: 60 }) }), { maxLength: 4_000 });
    fc.assert(
      fc.property(rising, (steps) => {
        let posting: Posting | undefined;
        const model = new Set<number>();
        let slot = 0;
        for (const { add, step } of steps) {
          slot = Math.max(0, slot + step);
          if (add > 1) {
            posting = postingAdd(posting, slot, orderedKeyOf);
            model.add(slot);
          } else {
            posting = postingDelete(posting, slot, orderedKeyOf);
            model.delete(slot);
          }
        }
        expect(postingSize(posting)).toBe(model.size);
        expect([...{ [Symbol.iterator]: () => postingFrom(posting, undefined, orderedKeyOf) }]).toEqual([...model].sort((a, b) => a - b));
      }),
      { numRuns: 60 },
    );
  });

  it("a large set splits into chunks and still finds every member by key", () => {
    const slots = new SortedSlots(keyOf);
    for (let s = 0; s < 5_000; s++) slots.add(s);
    for (let s = 0; s < 5_000; s += 3) slots.delete(s);
    const members = [...slots.from(undefined)];
    expect(members).toEqual(Array.from({ length: 5_000 }, (_, s) => s).filter((s) => s % 3 !== 0).sort(byKey));
    for (let s = 0; s < 5_000; s++) expect(slots.find(keyOf(s))).toBe(s % 3 === 0 ? undefined : s);
  });
});
