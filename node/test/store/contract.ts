// The contract every Store engine keeps. Each engine's test file calls
// `storeContract` with a factory; the JetStream engine runs the same suite.
// Watch delivery may be asynchronous in other engines, so watch assertions
// wait for the changes instead of expecting them synchronously.

import { afterEach, describe, expect, it, vi } from "vitest";
import { ConflictError, type Change, type Store } from "../../src/store/types.ts";

export function storeContract(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`${name} store contract`, () => {
    const opened: Store[] = [];
    async function open(): Promise<Store> {
      const store = await makeStore();
      opened.push(store);
      return store;
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
    });

    describe("get and create", () => {
      it("get of an absent key is undefined", async () => {
        const store = await open();
        expect(await store.get("p/absent")).toBeUndefined();
      });

      it("create stores the value and get returns it with the revision create returned", async () => {
        const store = await open();
        const revision = await store.create("p/a", { id: "a", n: 1 });
        expect(revision).toBeGreaterThan(0);
        expect(await store.get("p/a")).toEqual({ key: "p/a", value: { id: "a", n: 1 }, revision });
      });

      it("create of an existing key throws ConflictError and keeps the first value", async () => {
        const store = await open();
        await store.create("p/a", { n: 1 });
        await expect(store.create("p/a", { n: 2 })).rejects.toBeInstanceOf(ConflictError);
        expect((await store.get("p/a"))?.value).toEqual({ n: 1 });
      });

      it("a stored value is a copy: mutating the written object or a read object changes nothing stored", async () => {
        const store = await open();
        const written = { tags: { a: "1" }, list: [1] };
        await store.create("p/a", written);
        written.tags.a = "changed";
        written.list.push(2);
        const read = (await store.get("p/a"))!.value as typeof written;
        read.tags.a = "mutated";
        expect((await store.get("p/a"))?.value).toEqual({ tags: { a: "1" }, list: [1] });
      });
    });

    describe("update (compare-and-set)", () => {
      it("update with the current revision stores the value under a greater revision", async () => {
        const store = await open();
        const r1 = await store.create("t/a", { v: 1 });
        const r2 = await store.update("t/a", { v: 2 }, r1);
        expect(r2).toBeGreaterThan(r1);
        expect(await store.get("t/a")).toEqual({ key: "t/a", value: { v: 2 }, revision: r2 });
      });

      it("update with a stale revision throws ConflictError naming the key and keeps the value", async () => {
        const store = await open();
        const r1 = await store.create("t/a", { v: 1 });
        await store.update("t/a", { v: 2 }, r1);
        const err = await store.update("t/a", { v: 3 }, r1).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).key).toBe("t/a");
        expect((await store.get("t/a"))?.value).toEqual({ v: 2 });
      });

      it("update of an absent key with a non-zero revision throws ConflictError", async () => {
        const store = await open();
        await expect(store.update("t/none", { v: 1 }, 5)).rejects.toBeInstanceOf(ConflictError);
        expect(await store.get("t/none")).toBeUndefined();
      });

      it("of many concurrent updates from the same revision exactly one wins", async () => {
        const store = await open();
        const r1 = await store.create("t/a", { v: 0 });
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => store.update("t/a", { v: i + 1 }, r1)),
        );
        const won = results.filter((r) => r.status === "fulfilled");
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
      });
    });

    describe("commit", () => {
      it("commit applies every write when every expected revision matches", async () => {
        const store = await open();
        const ra = await store.create("p/a", { v: 1 });
        await store.commit([
          { key: "p/a", value: { v: 2 }, expectedRevision: ra },
          { key: "t/a", value: { v: 1 }, expectedRevision: 0 },
        ]);
        expect((await store.get("p/a"))?.value).toEqual({ v: 2 });
        expect((await store.get("t/a"))?.value).toEqual({ v: 1 });
      });

      it("commit with one stale revision throws ConflictError and applies none of the writes", async () => {
        const store = await open();
        const ra = await store.create("p/a", { v: 1 });
        await store.create("t/a", { v: 1 });
        await expect(
          store.commit([
            { key: "p/a", value: { v: 2 }, expectedRevision: ra },
            { key: "p/a.1", value: { v: 1 }, expectedRevision: 0 },
            { key: "t/a", value: { v: 2 }, expectedRevision: 0 },
          ]),
        ).rejects.toBeInstanceOf(ConflictError);
        expect((await store.get("p/a"))?.value).toEqual({ v: 1 });
        expect(await store.get("p/a.1")).toBeUndefined();
        expect((await store.get("t/a"))?.value).toEqual({ v: 1 });
      });

      it("a null value deletes the key at its expected revision", async () => {
        const store = await open();
        const r = await store.create("s/a", { v: 1 });
        await store.commit([{ key: "s/a", value: null, expectedRevision: r }]);
        expect(await store.get("s/a")).toBeUndefined();
        expect(await store.list({ prefix: "s/" })).toEqual([]);
      });

      it("a deleted key can be created again", async () => {
        const store = await open();
        const r = await store.create("s/a", { v: 1 });
        await store.commit([{ key: "s/a", value: null, expectedRevision: r }]);
        await store.create("s/a", { v: 2 });
        expect((await store.get("s/a"))?.value).toEqual({ v: 2 });
      });

      it("an empty commit succeeds and changes nothing", async () => {
        const store = await open();
        await store.commit([]);
        expect(await store.list({ prefix: "" })).toEqual([]);
      });
    });

    describe("a promise and the task of its id", () => {
      // An engine may keep them in one unit (JetStream: one message), where
      // writing one moves the other's revision; their values stay apart.
      it("are written apart and together, each write leaving the other record's value as it was", async () => {
        const store = await open();
        await store.create("p/a", { promise: 1 });
        await store.create("t/a", { task: 1 });
        const promise = (await store.get("p/a"))!;
        await store.update("p/a", { promise: 2 }, promise.revision);
        expect((await store.get("t/a"))?.value).toEqual({ task: 1 });
        const [p, t] = [(await store.get("p/a"))!, (await store.get("t/a"))!];
        await store.commit([
          { key: "p/a", value: { promise: 3 }, expectedRevision: p.revision },
          { key: "t/a", value: null, expectedRevision: t.revision },
        ]);
        expect((await store.get("p/a"))?.value).toEqual({ promise: 3 });
        expect(await store.get("t/a")).toBeUndefined();
        expect((await store.list({ prefix: "t/" })).map((e) => e.key)).toEqual([]);
      });

      it("a task created where none exists goes through although its promise changed since it was read", async () => {
        const store = await open();
        await store.create("p/a", { promise: 1 });
        const promise = (await store.get("p/a"))!;
        await store.update("p/a", { promise: 2 }, promise.revision);
        await store.commit([{ key: "t/a", value: { task: 1 }, expectedRevision: 0 }]);
        expect((await store.get("t/a"))?.value).toEqual({ task: 1 });
        expect((await store.get("p/a"))?.value).toEqual({ promise: 2 });
      });

      it("deleted together, they can be created again, one and then the other", async () => {
        const store = await open();
        await store.commit([
          { key: "p/a", value: { promise: 1 }, expectedRevision: 0 },
          { key: "t/a", value: { task: 1 }, expectedRevision: 0 },
        ]);
        const [p, t] = [(await store.get("p/a"))!, (await store.get("t/a"))!];
        await store.commit([
          { key: "p/a", value: null, expectedRevision: p.revision },
          { key: "t/a", value: null, expectedRevision: t.revision },
        ]);
        expect([await store.get("p/a"), await store.get("t/a")]).toEqual([undefined, undefined]);
        await store.create("p/a", { promise: 2 });
        await store.create("t/a", { task: 2 });
        expect([(await store.get("p/a"))?.value, (await store.get("t/a"))?.value]).toEqual([{ promise: 2 }, { task: 2 }]);
      });

      it("a watcher of promises hears nothing of a write to the task of the same id", async () => {
        const store = await open();
        await store.create("p/a", { promise: 1 });
        const seen: Change[] = [];
        const stop = store.watch("p/", (c) => seen.push(c));
        await store.create("t/a", { task: 1 });
        await store.create("p/b", { promise: 1 });
        await vi.waitFor(() => expect(seen.map((c) => c.key)).toContain("p/b"));
        expect(seen.map((c) => c.key)).toEqual(["p/b"]);
        stop();
      });
    });

    describe("list", () => {
      async function seeded(): Promise<Store> {
        const store = await open();
        // created out of order on purpose
        for (const key of ["p/b", "t/a", "p/a.2", "p/a", "p/c", "p/a.1", "s/x", "p/a:0"]) {
          await store.create(key, { key });
        }
        return store;
      }

      it("lists the keys under a prefix in key order with their values and revisions", async () => {
        const store = await seeded();
        const entries = await store.list({ prefix: "p/" });
        expect(entries.map((e) => e.key)).toEqual(["p/a", "p/a.1", "p/a.2", "p/a:0", "p/b", "p/c"]);
        for (const e of entries) {
          expect(e.value).toEqual({ key: e.key });
          expect(e.revision).toBe((await store.get(e.key))!.revision);
        }
      });

      it("a narrower prefix returns only its keys", async () => {
        const store = await seeded();
        expect((await store.list({ prefix: "p/a." })).map((e) => e.key)).toEqual(["p/a.1", "p/a.2"]);
        expect((await store.list({ prefix: "p/a:" })).map((e) => e.key)).toEqual(["p/a:0"]);
        expect(await store.list({ prefix: "p/zzz" })).toEqual([]);
      });

      it("after returns only keys strictly greater than it", async () => {
        const store = await seeded();
        expect((await store.list({ prefix: "p/", after: "p/a.2" })).map((e) => e.key)).toEqual(["p/a:0", "p/b", "p/c"]);
        expect((await store.list({ prefix: "p/", after: "p/a.15" })).map((e) => e.key)).toEqual([
          "p/a.2",
          "p/a:0",
          "p/b",
          "p/c",
        ]);
        expect(await store.list({ prefix: "p/", after: "p/c" })).toEqual([]);
      });

      it("limit stops after that many entries and pages with after cover every key once", async () => {
        const store = await seeded();
        expect((await store.list({ prefix: "p/", limit: 2 })).map((e) => e.key)).toEqual(["p/a", "p/a.1"]);
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.list({ prefix: "p/", after, limit: 4 });
          seen.push(...page.map((e) => e.key));
          if (page.length < 4) break;
          after = page[page.length - 1]!.key;
        }
        expect(seen).toEqual(["p/a", "p/a.1", "p/a.2", "p/a:0", "p/b", "p/c"]);
      });

      it("list reflects updates and deletes", async () => {
        const store = await seeded();
        const b = (await store.get("p/b"))!;
        await store.update("p/b", { key: "p/b", v: 2 }, b.revision);
        const c = (await store.get("p/c"))!;
        await store.commit([{ key: "p/c", value: null, expectedRevision: c.revision }]);
        const entries = await store.list({ prefix: "p/b" });
        expect(entries).toEqual([{ key: "p/b", value: { key: "p/b", v: 2 }, revision: (await store.get("p/b"))!.revision }]);
        expect((await store.list({ prefix: "p/" })).map((e) => e.key)).not.toContain("p/c");
      });
    });

    describe("watch", () => {
      // Order is per key: an engine partitioned by tree (JetStream) orders each
      // partition's changes, not changes of keys in different partitions.
      it("delivers every change under the prefix after the call, each key's in commit order", async () => {
        const store = await open();
        await store.create("p/before", { v: 0 });
        const seen: Change[] = [];
        const stop = store.watch("p/", (c) => seen.push(c));
        const r1 = await store.create("p/a", { v: 1 });
        await store.create("t/b", { v: 1 });
        const r2 = await store.update("p/a", { v: 2 }, r1);
        await store.commit([
          { key: "p/a.1", value: { v: 1 }, expectedRevision: 0 },
          { key: "p/a", value: null, expectedRevision: r2 },
        ]);
        await vi.waitFor(() => expect(seen).toHaveLength(4));
        const of = (key: string) => seen.filter((c) => c.key === key);
        expect(of("p/a").map((c) => c.value)).toEqual([{ v: 1 }, { v: 2 }, null]);
        expect(of("p/a.1").map((c) => c.value)).toEqual([{ v: 1 }]);
        expect(of("p/a")[0]!.revision).toBe(r1);
        expect(of("p/a")[1]!.revision).toBe(r2);
        stop();
      });

      it("a failed commit delivers nothing", async () => {
        const store = await open();
        await store.create("p/a", { v: 1 });
        const seen: Change[] = [];
        const stop = store.watch("p/", (c) => seen.push(c));
        await expect(
          store.commit([
            { key: "p/a.1", value: { v: 1 }, expectedRevision: 0 },
            { key: "p/a", value: { v: 2 }, expectedRevision: 0 },
          ]),
        ).rejects.toBeInstanceOf(ConflictError);
        await store.create("p/c", { v: 1 });
        await vi.waitFor(() => expect(seen.map((c) => c.key)).toEqual(["p/c"]));
        stop();
      });

      it("after unsubscribe nothing more is delivered", async () => {
        const store = await open();
        const seen: Change[] = [];
        const stop = store.watch("t/", (c) => seen.push(c));
        await store.create("t/a", { v: 1 });
        await vi.waitFor(() => expect(seen).toHaveLength(1));
        stop();
        await store.create("t/b", { v: 1 });
        const other: Change[] = [];
        const stop2 = store.watch("t/", (c) => other.push(c));
        await store.create("t/c", { v: 1 });
        await vi.waitFor(() => expect(other).toHaveLength(1));
        expect(seen).toHaveLength(1);
        stop2();
      });

      it("a watcher's value is its own copy", async () => {
        const store = await open();
        const stop = store.watch("p/", (c) => {
          (c.value as { v: number }).v = 99;
        });
        await store.create("p/a", { v: 1 });
        await new Promise((r) => setTimeout(r, 10));
        expect((await store.get("p/a"))?.value).toEqual({ v: 1 });
        stop();
      });
    });
  });
}
