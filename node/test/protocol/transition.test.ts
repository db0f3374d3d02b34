import { describe, expect, test } from "vitest";
import { transition } from "../../src/protocol/transition.ts";
import type { Snapshot, StoredPromise } from "../../src/protocol/types.ts";
import { Tag } from "../../src/protocol/types.ts";
import { HOUR, World, req } from "./harness.ts";

class Missing extends Error {
  constructor(readonly key: string) {
    super(`load ${key}`);
  }
}

/** A snapshot that knows only what was loaded, and throws to ask for the rest (as engines do). */
class LazySnapshot implements Snapshot {
  loaded = new Map<string, unknown>();
  constructor(readonly backing: World) {}
  private get<T>(key: string): T {
    if (!this.loaded.has(key)) throw new Missing(key);
    return this.loaded.get(key) as T;
  }
  load(key: string) {
    const [type, id] = [key.slice(0, 1), key.slice(2)];
    const value = type === "p" ? this.backing.promise(id) : type === "t" ? this.backing.task(id) : type === "s" ? this.backing.schedule(id) : this.backing.branch(id);
    this.loaded.set(key, value);
  }
  promise(id: string) {
    return this.get(`p/${id}`) as StoredPromise | undefined;
  }
  task(id: string) {
    return this.get(`t/${id}`) as never;
  }
  schedule(id: string) {
    return this.get(`s/${id}`) as never;
  }
  branch(b: string) {
    return this.get(`b/${b}`) as StoredPromise[];
  }
}

describe("transition", () => {
  test("is deterministic: the same snapshot, request and time give the same result", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1", { timeoutAt: w.now + 10 });
    w.advance(20);
    const request = req.suspend("a", 1, ["a.1"]);
    expect(transition(w, request, w.now)).toEqual(transition(w, request, w.now));
  });

  test("lets exceptions of the snapshot through, so an engine can load the record and run it again", () => {
    const w = new World();
    w.acquired("a", "w1", 60_000, { [Tag.branch]: "a" });
    w.create("a.1", { tags: { [Tag.branch]: "a" } });
    const lazy = new LazySnapshot(w);
    const request = req.suspend("a", 1, ["a.1"]);
    let result;
    for (let attempt = 0; attempt < 20 && result === undefined; attempt++) {
      try {
        result = transition(lazy, request, w.now);
      } catch (err) {
        expect(err).toBeInstanceOf(Missing);
        lazy.load((err as Missing).key);
      }
    }
    expect(result).toEqual(transition(w, request, w.now));
  });

  test("does not modify the records it reads", () => {
    // World stores frozen records: any mutation would throw in strict mode.
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.ok(req.listener("a.1", "poll://uni@g/1"));
    w.advance(HOUR);
    expect(() => w.run(req.get("a.1"))).not.toThrow();
    expect(w.promises.get("a.1")!.state).toBe("rejected_timedout");
  });

  test("writes each record once, in the order first written", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.suspend("a", 1, ["a.1"]));
    const t = w.run(req.settle("a.1"));
    const keys = t.writes.map((x) => ("record" in x ? `${x.type}/${x.record.id}` : "id" in x ? x.id : x.key));
    expect(keys).toEqual(["promise/a.1", "task/a"]);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
