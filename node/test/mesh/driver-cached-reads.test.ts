// The driver over a store with a local copy (`getMany` with `cached`): the
// first round reads the copy, a write built on a stale copy conflicts and is
// retried from fresh reads, and a read-only answer is never given from a copy
// that is behind. The copy here lags on purpose (frozen until `catchUp`), so
// the stale case happens every time instead of by the luck of timing; the
// real engine's copy is exercised by the JetStream store tests and the mesh
// suites.

import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/mesh/clock.ts";
import { Driver, type StepResult } from "../../src/mesh/driver.ts";
import { defaultProtocolConfig } from "../../src/protocol/config.ts";
import type { Snapshot, StoredPromise } from "../../src/protocol/types.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Entry, ReadOptions } from "../../src/store/types.ts";

function promise(id: string, extra: Partial<StoredPromise> = {}): StoredPromise {
  return {
    id,
    state: "pending",
    param: { headers: {}, data: "" },
    value: { headers: {}, data: "" },
    tags: {},
    timeoutAt: 1_000_000,
    createdAt: 0,
    callbacks: [],
    listeners: [],
    ...extra,
  };
}

/** A memory store whose cached reads answer from a copy taken at the last `catchUp`. */
class LaggingCopyStore extends MemoryStore {
  private copy = new Map<string, Entry>();
  cachedReads = 0;
  freshReads = 0;

  async catchUp(keys: string[]): Promise<void> {
    for (const key of keys) {
      const entry = await super.get(key);
      if (entry === undefined) this.copy.delete(key);
      else this.copy.set(key, structuredClone(entry));
    }
  }

  async getMany(keys: readonly string[], options: ReadOptions = {}): Promise<(Entry | undefined)[]> {
    if (options.cached === true) {
      this.cachedReads += keys.length;
      return keys.map((k) => structuredClone(this.copy.get(k)));
    }
    this.freshReads += keys.length;
    return Promise.all(keys.map((k) => super.get(k)));
  }
}

function driverOn(store: LaggingCopyStore): Driver {
  return new Driver({ store, clock: new ManualClock(100), config: defaultProtocolConfig, maxBackoffMs: 2 });
}

/** A read-only step: the listeners promise `id` has. */
function readListeners(id: string) {
  return (s: Snapshot): StepResult & { listeners: string[] | undefined } => ({
    writes: [],
    messages: [],
    listeners: s.promise(id)?.listeners,
  });
}

/** A step that reads promise `id` and writes it back with one more listener. */
function addListener(id: string, address: string) {
  return (s: Snapshot): StepResult & { seen: string[] } => {
    const p = s.promise(id)!;
    return { writes: [{ type: "promise", record: { ...p, listeners: [...p.listeners, address] } }], messages: [], seen: p.listeners };
  };
}

describe("driver reads through a store's local copy", () => {
  it("a write built on a current copy commits without a fresh read", async () => {
    const store = new LaggingCopyStore();
    await store.create("p/a", promise("a"));
    await store.catchUp(["p/a"]);
    const result = await driverOn(store).apply(addListener("a", "x"), ["p/a"]);
    expect(result.seen).toEqual([]);
    expect(store.freshReads).toBe(0);
    expect(((await store.get("p/a"))!.value as StoredPromise).listeners).toEqual(["x"]);
  });

  it("a write built on a stale copy conflicts and is redone from fresh reads, keeping the newer record's content", async () => {
    const store = new LaggingCopyStore();
    const revision = await store.create("p/a", promise("a"));
    await store.catchUp(["p/a"]);
    // Another writer moves the record; the copy still shows the old revision.
    await store.update("p/a", promise("a", { listeners: ["other"] }), revision);
    const driver = driverOn(store);
    const result = await driver.apply(addListener("a", "x"), ["p/a"]);
    expect(result.seen).toEqual(["other"]);
    expect(((await store.get("p/a"))!.value as StoredPromise).listeners).toEqual(["other", "x"]);
    expect(driver.stats().conflicts).toBe(1);
    expect(store.freshReads).toBeGreaterThan(0);
  });

  it("a read-only answer from a stale copy is not given: the step runs again on fresh reads", async () => {
    const store = new LaggingCopyStore();
    const revision = await store.create("p/a", promise("a"));
    await store.catchUp(["p/a"]);
    await store.update("p/a", promise("a", { listeners: ["other"] }), revision);
    const driver = driverOn(store);
    const result = await driver.apply(readListeners("a"), ["p/a"]);
    expect(result.listeners).toEqual(["other"]);
    expect(driver.stats().staleReads).toBe(1);
  });

  it("a read-only answer about a record the copy has not seen yet comes from fresh reads", async () => {
    const store = new LaggingCopyStore();
    await store.create("p/a", promise("a", { listeners: ["new"] }));
    const result = await driverOn(store).apply(readListeners("a"), ["p/a"]);
    expect(result.listeners).toEqual(["new"]);
  });

  it("a read-only answer from a current copy is confirmed by one fresh read of the records it read", async () => {
    const store = new LaggingCopyStore();
    await store.create("p/a", promise("a", { listeners: ["l"] }));
    await store.catchUp(["p/a", "t/a"]);
    const driver = driverOn(store);
    const result = await driver.apply(readListeners("a"), ["p/a", "t/a"]);
    expect(result.listeners).toEqual(["l"]);
    expect(store.cachedReads).toBe(2);
    expect(store.freshReads).toBe(2);
    expect(driver.stats().staleReads).toBe(0);
  });
});
