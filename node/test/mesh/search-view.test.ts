// The search indexes answer exactly what a scan of the store answers: same
// ids, same order, same cursors, for any mix of state, tag and id filters,
// while records are created, settled, re-tagged and removed. The indexes keep
// tag sets interned and give no posting to a tag whose value is the record's
// own id (an SDK root's origin and branch) or its parent's (a step's origin,
// parent and branch), so those cases are generated on purpose.

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

/** The id up to its last `.` or `:` (a root has none). */
const parentOf = (id: string) => id.slice(0, Math.max(id.lastIndexOf("."), id.lastIndexOf(":")));

/** A tag value: often the record's own id or its parent's (no posting for either), often a shared one. */
const tagValue = (id: string) => fc.oneof(fc.constant(id), fc.constant(parentOf(id)), fc.constantFrom(...VALUES));

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

  it("find the steps of a workflow by its id in their tags, and a grandchild tagged with it once, among other workflows' steps", async () => {
    const store = new MemoryStore();
    const view = new SearchView(store);
    await view.start();
    const put = (id: string, tags: Record<string, string>) => apply(store, { put: { id, state: "resolved", timeoutAt: NOW + 1, tags } });
    const step = (wf: string) => ({ "resonate:origin": wf, "resonate:parent": wf, "resonate:scope": "local", "resonate:branch": wf });
    await put("wf", { "resonate:origin": "wf", "resonate:branch": "wf" });
    await put("wf.1", step("wf"));
    await put("wf.1.1", { "resonate:origin": "wf", "resonate:parent": "wf.1" });
    await put("wf:2", step("wf"));
    await put("wf2.1", step("wf2"));
    await put("wfx", { "resonate:origin": "wf" });
    const origin = { tags: { "resonate:origin": "wf" }, limit: 2 } as SearchRequest["data"];
    expect(await pages(store, origin, view)).toEqual([["wf", "wf.1"], ["wf.1.1", "wf:2"], ["wfx"]]);
    expect(await pages(store, { tags: { "resonate:parent": "wf" } } as SearchRequest["data"], view)).toEqual([["wf.1", "wf:2"]]);
    expect(await pages(store, origin, view)).toEqual(await pages(store, origin));
    view.stop();
  });
});

describe("task counts by state", () => {
  const TASK_STATES = ["pending", "acquired", "suspended", "halted", "fulfilled"] as const;
  type TaskOp = { write: { id: string; task?: (typeof TASK_STATES)[number] | null; promise?: boolean | null; taskFirst: boolean } };
  // One commit per op: the task and/or the promise of an id written or removed, in either order.
  const taskOp: fc.Arbitrary<TaskOp> = fc.record({
    id: fc.constantFrom("a", "b", "c", "a.1"),
    task: fc.option(fc.option(fc.constantFrom(...TASK_STATES), { nil: null }), { nil: undefined }),
    promise: fc.option(fc.option(fc.boolean(), { nil: null }), { nil: undefined }),
    taskFirst: fc.boolean(),
  }).map((write) => ({ write }));

  async function commitTaskOp(store: MemoryStore, { write: w }: TaskOp): Promise<void> {
    const ops = [];
    if (w.task !== undefined) {
      const key = `t/${w.id}`;
      const current = await store.get(key);
      if (w.task !== null || current !== undefined) {
        const value = w.task === null ? null : { id: w.id, state: w.task, version: 1, resumes: [], address: "poll://any@g", createdAt: 0 };
        ops.push({ key, value, expectedRevision: current?.revision ?? 0 });
      }
    }
    if (w.promise !== undefined) {
      const key = promiseKey(w.id);
      const current = await store.get(key);
      if (w.promise !== null || current !== undefined) {
        const value = w.promise === null ? null : { id: w.id, state: "pending", param: empty, value: empty, tags: {}, timeoutAt: NOW, createdAt: 0, callbacks: [], listeners: [] };
        ops.push({ key, value, expectedRevision: current?.revision ?? 0 });
      }
    }
    if (!w.taskFirst) ops.reverse();
    if (ops.length > 0) await store.commit(ops);
  }

  async function scanned(store: MemoryStore): Promise<Record<string, number>> {
    const counts: Record<string, number> = Object.fromEntries(TASK_STATES.map((s) => [s, 0]));
    for (const e of await store.list({ prefix: "t/" })) counts[(e.value as { state: string }).state]!++;
    return counts;
  }

  it("equal a scan of the store's tasks, whatever the order of a task and its promise in a commit or their removals", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(taskOp, { maxLength: 30 }), async (ops) => {
        const store = new MemoryStore();
        const view = new SearchView(store);
        // Half the writes before the view loads (the listing), half after (the watch).
        const half = ops.length >> 1;
        for (const o of ops.slice(0, half)) await commitTaskOp(store, o);
        await view.start();
        for (const o of ops.slice(half)) {
          await commitTaskOp(store, o);
          expect(view.tasks.snapshot()).toEqual(await scanned(store));
        }
        expect(view.tasks.snapshot()).toEqual(await scanned(store));
        view.stop();
      }),
      { numRuns: 200 },
    );
  });
});
