// The driver's own mechanics, with hand-written steps: lazy loading,
// compare-and-set, retry on conflict. The protocol-level facts (concurrent
// settles, concurrent acquires) are in driver-protocol.test.ts.

import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/mesh/clock.ts";
import { ContentionError, Driver, type StepResult } from "../../src/mesh/driver.ts";
import { defaultProtocolConfig } from "../../src/protocol/config.ts";
import type { Snapshot, StoredPromise, Write } from "../../src/protocol/types.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { ConflictError, type CommitOp, type Store } from "../../src/store/types.ts";

function promise(id: string, tags: Record<string, string> = {}, extra: Partial<StoredPromise> = {}): StoredPromise {
  return {
    id,
    state: "pending",
    param: { headers: {}, data: "" },
    value: { headers: {}, data: "" },
    tags,
    timeoutAt: 1_000_000,
    createdAt: 0,
    callbacks: [],
    listeners: [],
    ...extra,
  };
}

function driverOn(store: Store, options: { maxAttempts?: number } = {}): Driver {
  return new Driver({ store, clock: new ManualClock(100), config: defaultProtocolConfig, maxBackoffMs: 2, ...options });
}

/** A step that reads promise `id` and writes it back with one more listener. */
function addListener(id: string, address: string) {
  return (s: Snapshot): StepResult & { seen: number } => {
    const p = s.promise(id)!;
    const next: StoredPromise = { ...p, listeners: [...p.listeners, address] };
    return { writes: [{ type: "promise", record: next }], messages: [], seen: p.listeners.length };
  };
}

class CountingStore extends MemoryStore {
  commits = 0;
  gets = 0;
  override async get(key: string) {
    this.gets++;
    return super.get(key);
  }
  override async commit(ops: CommitOp[]) {
    await super.commit(ops);
    this.commits++;
  }
}

describe("driver lazy loading", () => {
  it("loads each record a step reads on demand and re-runs the step until it completes", async () => {
    const store = new CountingStore();
    await store.create("p/a", promise("a"));
    await store.create("p/b", promise("b"));
    const driver = driverOn(store);
    let runs = 0;
    const result = await driver.apply((s) => {
      runs++;
      const ids = [s.promise("a")?.id, s.promise("b")?.id, s.promise("c")?.id];
      return { writes: [], messages: [], ids };
    });
    expect(result.ids).toEqual(["a", "b", undefined]);
    expect(runs).toBe(4);
    expect(store.gets).toBe(3);
  });

  it("prefetched keys are loaded in one go and need no re-run", async () => {
    const store = new CountingStore();
    await store.create("p/a", promise("a"));
    const driver = driverOn(store);
    let runs = 0;
    await driver.apply(
      (s) => {
        runs++;
        s.promise("a");
        s.task("a");
        return { writes: [], messages: [] };
      },
      ["p/a", "t/a"],
    );
    expect(runs).toBe(1);
  });

  it("branch(b) holds the promises under b. and b: tagged with branch b, not others", async () => {
    const store = new MemoryStore();
    await store.create("p/wf", promise("wf", { "resonate:branch": "wf" }));
    await store.create("p/wf.1", promise("wf.1", { "resonate:branch": "wf" }));
    await store.create("p/wf:2", promise("wf:2", { "resonate:branch": "wf" }));
    await store.create("p/wf.3", promise("wf.3", { "resonate:branch": "wf.3" }));
    await store.create("p/wf.3.1", promise("wf.3.1", { "resonate:branch": "wf.3" }));
    await store.create("p/wfx", promise("wfx", { "resonate:branch": "wf" }));
    const driver = driverOn(store);
    const { ids, child } = await driver.apply((s) => ({
      writes: [],
      messages: [],
      ids: s.branch("wf").map((p) => p.id).sort(),
      // members are loaded records too: reading one needs no further load
      child: s.promise("wf.1")?.id,
    }));
    expect(ids).toEqual(["wf.1", "wf:2"]);
    expect(child).toBe("wf.1");
  });

  it("an error thrown by a step propagates and nothing is written", async () => {
    const store = new MemoryStore();
    const driver = driverOn(store);
    await expect(
      driver.apply(() => {
        throw new Error("bug in a step");
      }),
    ).rejects.toThrow("bug in a step");
  });
});

describe("driver compare-and-set", () => {
  it("commits the writes against the revisions read: an absent key is created", async () => {
    const store = new MemoryStore();
    const driver = driverOn(store);
    await driver.apply((s) => {
      expect(s.promise("new")).toBeUndefined();
      return { writes: [{ type: "promise", record: promise("new") }], messages: [] };
    });
    expect((await store.get("p/new"))?.value).toMatchObject({ id: "new" });
  });

  it("concurrent read-modify-writes of one record all land: conflicts are retried from fresh reads", async () => {
    const store = new CountingStore();
    await store.create("p/a", promise("a"));
    const driver = driverOn(store);
    await Promise.all(Array.from({ length: 30 }, (_, i) => driver.apply(addListener("a", `poll://uni@g/${i}`))));
    const stored = (await store.get("p/a"))!.value as StoredPromise;
    expect(stored.listeners).toHaveLength(30);
    expect(new Set(stored.listeners).size).toBe(30);
    expect(store.commits).toBe(30);
    expect(driver.stats().conflicts).toBeGreaterThan(0);
  });

  it("a step whose writes keep conflicting gives up with ContentionError after maxAttempts", async () => {
    const hostile = new (class extends MemoryStore {
      override async commit(ops: CommitOp[]) {
        throw new ConflictError(ops[0]!.key, ops[0]!.expectedRevision, ops[0]!.expectedRevision + 1);
      }
    })();
    await hostile.create("p/a", promise("a"));
    const stuck = driverOn(hostile, { maxAttempts: 4 });
    let rounds = 0;
    const failure = await stuck
      .apply((s) => {
        rounds++;
        return { writes: [{ type: "promise", record: s.promise("a")! }], messages: [] };
      }, ["p/a"])
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ContentionError);
    expect((failure as ContentionError).message).toMatch(/p\/a/);
    expect(rounds).toBe(4);
    expect(stuck.stats()).toMatchObject({ conflicts: 4, exhausted: 1 });
  });

  it("a step with no writes commits nothing", async () => {
    const store = new CountingStore();
    const driver = driverOn(store);
    await driver.apply((s) => ({ writes: [], messages: [], p: s.promise("a") }));
    expect(store.commits).toBe(0);
  });

  it("deleting an absent schedule commits nothing and deleting a present one removes it", async () => {
    const store = new CountingStore();
    const driver = driverOn(store);
    const del: Write = { type: "schedule.delete", id: "s1" };
    await driver.apply((s) => (s.schedule("s1"), { writes: [del], messages: [] }));
    expect(store.commits).toBe(0);
    await store.create("s/s1", { id: "s1" });
    await driver.apply((s) => (s.schedule("s1"), { writes: [del], messages: [] }));
    expect(await store.get("s/s1")).toBeUndefined();
  });

  it("the same now is given to every run of a step within one round", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(5);
    const driver = new Driver({ store, clock, config: defaultProtocolConfig });
    const nows: number[] = [];
    await driver.apply((s, now) => {
      nows.push(now);
      clock.advance(1);
      s.promise("a");
      s.promise("b");
      return { writes: [], messages: [] };
    });
    expect(new Set(nows)).toEqual(new Set([5]));
  });
});
