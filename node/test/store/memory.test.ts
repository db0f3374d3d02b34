import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Change } from "../../src/store/types.ts";
import { storeContract } from "./contract.ts";

storeContract("memory", () => new MemoryStore());
// Every record but the last one written kept in its compact form.
storeContract("memory, every older record compact", () => new MemoryStore({ hotRecords: 1 }));

describe("memory store specifics", () => {
  it("delivers a change to watchers before the commit resolves", async () => {
    const store = new MemoryStore();
    const seen: string[] = [];
    store.watch("p/", (c) => seen.push(c.key));
    await store.create("p/a", {});
    expect(seen).toEqual(["p/a"]);
  });

  it("a watcher that commits from its callback does not reorder what other watchers see", async () => {
    const store = new MemoryStore();
    const seen: string[] = [];
    store.watch("p/a", () => void store.create("p/b", {}));
    store.watch("p/", (c: Change) => seen.push(c.key));
    await store.create("p/a", {});
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual(["p/a", "p/b"]);
  });

  it("a stored value reads back as JSON would give it back (what a JSON-backed engine stores)", async () => {
    const store = new MemoryStore();
    const written = {
      gone: undefined,
      fn: () => 1,
      when: new Date(0),
      nums: [1, -0, Number.NaN, Infinity],
      holes: [undefined, () => 2],
      nested: { deep: { deeper: [{ x: "y" }] } },
      boxed: new String("s"),
    };
    await store.create("p/j", written);
    const read = (await store.get("p/j"))!.value;
    expect(read).toStrictEqual(JSON.parse(JSON.stringify(written)));
    expect(Object.is((read as { nums: number[] }).nums[1], 0)).toBe(true);
    expect(Object.keys(read as object)).toEqual(["when", "nums", "holes", "nested", "boxed"]);
  });

  it('a "__proto__" key (a user\'s tag) is stored and read back as data', async () => {
    const store = new MemoryStore();
    const seen: unknown[] = [];
    store.watch("p/", (c) => seen.push(c.value));
    await store.create("p/t", JSON.parse('{"tags":{"__proto__":"x","a":"b"}}'));
    for (const value of [(await store.get("p/t"))!.value, (await store.list({ prefix: "p/" }))[0]!.value, seen[0]]) {
      const tags = (value as { tags: Record<string, string> }).tags;
      expect(Object.keys(tags)).toEqual(["__proto__", "a"]);
      expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);
      expect(JSON.stringify(value)).toBe('{"tags":{"__proto__":"x","a":"b"}}');
    }
  });

  it("a value that cannot be serialised fails the commit whole", async () => {
    const store = new MemoryStore();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(
      store.commit([
        { key: "p/ok", value: { v: 1 }, expectedRevision: 0 },
        { key: "p/bad", value: cyclic, expectedRevision: 0 },
      ]),
    ).rejects.toThrow();
    expect(await store.get("p/ok")).toBeUndefined();
  });

  it("lists the page after a cursor in a large key space", async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 20_000; i++) await store.create(`p/k${String(i).padStart(6, "0")}`, { i });
    for (let i = 0; i < 2_000; i++) {
      const page = await store.list({ prefix: "p/", after: `p/k${String(i * 7).padStart(6, "0")}`, limit: 3 });
      expect(page.map((e) => e.key)).toEqual([1, 2, 3].map((d) => `p/k${String(i * 7 + d).padStart(6, "0")}`));
    }
  });

  it("listing stays in key order through many random creates and deletes", async () => {
    const store = new MemoryStore();
    const reference = new Map<string, number>();
    // mulberry32: deterministic, and unlike a bare LCG its low bits are random too
    let seed = 42;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    for (let step = 0; step < 20_000; step++) {
      const key = `p/${random(12_000).toString(36)}`;
      const revision = reference.get(key);
      if (revision === undefined) reference.set(key, await store.create(key, { key }));
      else if (random(3) === 0) {
        await store.commit([{ key, value: null, expectedRevision: revision }]);
        reference.delete(key);
      }
    }
    const sorted = [...reference.keys()].sort();
    expect((await store.list({ prefix: "p/" })).map((e) => e.key)).toEqual(sorted);
    expect(store.size).toBe(sorted.length);
    for (let q = 0; q < 200; q++) {
      const after = `p/${random(12_000).toString(36)}`;
      const limit = 1 + random(50);
      const expected = sorted.filter((k) => k > after).slice(0, limit);
      expect((await store.list({ prefix: "p/", after, limit })).map((e) => e.key)).toEqual(expected);
      const prefix = `p/${random(36).toString(36)}`;
      expect((await store.list({ prefix })).map((e) => e.key)).toEqual(sorted.filter((k) => k.startsWith(prefix)));
    }
  });

  it("calls after close are refused", async () => {
    const store = new MemoryStore();
    await store.close();
    await expect(store.get("p/a")).rejects.toThrow(/closed/);
  });

  it("a record read back after it became compact equals the one written, at the same revision", async () => {
    const store = new MemoryStore({ hotRecords: 2 });
    const value = { id: "wf.1", state: "resolved", tags: { "resonate:origin": "wf", "resonate:parent": "wf" }, timeoutAt: 1_796_187_443_467, callbacks: [] };
    const revision = await store.create("p/wf.1", value);
    await store.create("p/other-1", {});
    await store.create("p/other-2", {});
    expect(await store.get("p/wf.1")).toEqual({ key: "p/wf.1", value, revision });
    expect(await store.update("p/wf.1", { ...value, state: "rejected" }, revision)).toBeGreaterThan(revision);
  });
});
