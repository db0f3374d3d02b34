// The search indexes answer exactly what a scan of the store answers: same
// ids, same order, same cursors, for any mix of state, tag and id filters,
// while records are created, settled, re-tagged and removed. The indexes keep
// tag sets interned and give no posting to a tag whose value is the record's
// own id (an SDK root's origin and branch), so those cases are generated on
// purpose.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { search, type SearchRequest } from "../../src/mesh/search.ts";
import { SearchView } from "../../src/mesh/search-view.ts";
import { resolveConfig } from "../../src/protocol/config.ts";
import { promiseKey } from "../../src/protocol/keys.ts";
import type { PromiseState, StoredPromise } from "../../src/protocol/types.ts";
import { MemoryStore } from "../../src/store/memory.ts";

const NOW = 1_000_000;
const STATES: PromiseState[] = ["pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"];
const IDS = ["a", "a.1", "a.2", "a.2.1", "b", "b.1", "b:1", "c", "c.1", "c.10", "c.2", "d"];
const VALUES = ["a", "b", "c", "x", "local", "true"];
const KEYS = ["resonate:origin", "resonate:branch", "resonate:timer", "k"];
const config = resolveConfig(undefined);
const empty = { headers: {}, data: "" };

/** A tag value: often the record's own id (no posting), often a shared one. */
const tagValue = (id: string) => fc.oneof(fc.constant(id), fc.constantFrom(...VALUES));

const record = fc.constantFrom(...IDS).chain((id) =>
  fc.record({
    id: fc.constant(id),
    state: fc.constantFrom(...STATES),
    // Some pending ones are past their deadline: they search as timed out (or resolved, for timers).
    timeoutAt: fc.constantFrom(NOW - 1, NOW + 1),
    tags: fc.dictionary(fc.constantFrom(...KEYS), tagValue(id), { maxKeys: 3 }),
  }),
);

type Op = { put: { id: string; state: PromiseState; timeoutAt: number; tags: Record<string, string> } } | { remove: string };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: record.map((put) => ({ put })) },
  { weight: 1, arbitrary: fc.constantFrom(...IDS).map((remove) => ({ remove })) },
);

const query = fc.record(
  {
    state: fc.constantFrom(...STATES),
    tags: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...IDS, ...VALUES), { maxKeys: 2 }),
    id: fc.constantFrom("a", "c.1", "b*1", "*.1", "c"),
    limit: fc.integer({ min: 1, max: 4 }),
  },
  { requiredKeys: ["limit"] },
);

async function apply(store: MemoryStore, o: Op): Promise<void> {
  const id = "put" in o ? o.put.id : o.remove;
  const key = promiseKey(id);
  const current = await store.get(key);
  if ("remove" in o) {
    if (current !== undefined) await store.commit([{ key, value: null, expectedRevision: current.revision }]);
    return;
  }
  const p = o.put;
  const value: StoredPromise = {
    id,
    state: p.state,
    param: empty,
    value: empty,
    tags: p.tags,
    timeoutAt: p.timeoutAt,
    createdAt: 0,
    ...(p.state === "pending" ? {} : { settledAt: 1 }),
    callbacks: [],
    listeners: [],
  };
  await store.commit([{ key, value, expectedRevision: current?.revision ?? 0 }]);
}

/** Every page of a search, following cursors (bounded: a runaway cursor fails the test). */
async function pages(store: MemoryStore, data: SearchRequest["data"], view?: SearchView): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const request = { kind: "promise.search", data: { ...data, cursor } } as SearchRequest;
    const answer = (await search(store, request, NOW, config, view)) as { data: { promises: { id: string }[]; cursor?: string } };
    out.push(answer.data.promises.map((p) => p.id));
    cursor = answer.data.cursor;
    if (cursor === undefined) return out;
  }
  throw new Error("a search did not end after 50 pages");
}

describe("search indexes", () => {
  it("answer every search exactly as a scan of the store does, through creates, settles, re-tags and removals", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.array(query, { minLength: 1, maxLength: 6 }), async (ops, queries) => {
        const store = new MemoryStore();
        const view = new SearchView(store);
        // Half the writes before the indexes load (the listing), half after (the watch).
        const half = ops.length >> 1;
        for (const o of ops.slice(0, half)) await apply(store, o);
        await view.start();
        for (const o of ops.slice(half)) await apply(store, o);
        for (const q of queries) {
          const data = q as SearchRequest["data"];
          expect(await pages(store, data, view)).toEqual(await pages(store, data));
        }
        view.stop();
      }),
      { numRuns: 150 },
    );
  });

  it("find a root by a tag whose value is its own id, together with the children that carry that value", async () => {
    const store = new MemoryStore();
    const view = new SearchView(store);
    await view.start();
    const put = (id: string, tags: Record<string, string>) => apply(store, { put: { id, state: "resolved", timeoutAt: NOW + 1, tags } });
    await put("wf", { "resonate:origin": "wf" });
    await put("wf.1", { "resonate:origin": "wf" });
    await put("other", { "resonate:origin": "other" });
    expect(await pages(store, { tags: { "resonate:origin": "wf" } } as SearchRequest["data"], view)).toEqual([["wf", "wf.1"]]);
    view.stop();
  });
});
