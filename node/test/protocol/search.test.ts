import { describe, expect, test } from "vitest";
import {
  idListPrefix,
  matchId,
  matchPromise,
  matchSchedule,
  matchTask,
  page,
  projectPromise,
  publicTask,
  searchLimit,
} from "../../src/protocol/search.ts";
import type { StoredPromise, StoredTask } from "../../src/protocol/types.ts";
import { Tag } from "../../src/protocol/types.ts";
import { HOUR, World, req } from "./harness.ts";

const stored = (over: Partial<StoredPromise> = {}): StoredPromise => ({
  id: "wf.1",
  state: "pending",
  param: { headers: {}, data: "" },
  value: { headers: {}, data: "" },
  tags: { a: "1", b: "2" },
  timeoutAt: 1000,
  createdAt: 0,
  callbacks: ["x"],
  listeners: ["y"],
  ...over,
});

describe("projectPromise", () => {
  test("strips callbacks and listeners", () => {
    const p = projectPromise(stored(), 0);
    expect(p).not.toHaveProperty("callbacks");
    expect(p).not.toHaveProperty("listeners");
  });

  test("shows a pending promise past its deadline as timed out at its deadline", () => {
    expect(projectPromise(stored(), 1000)).toMatchObject({ state: "rejected_timedout", settledAt: 1000 });
    expect(projectPromise(stored({ tags: { [Tag.timer]: "true" } }), 5000)).toMatchObject({ state: "resolved", settledAt: 1000 });
    expect(projectPromise(stored(), 999).state).toBe("pending");
  });
});

describe("publicTask", () => {
  const task: StoredTask = { id: "wf.1", state: "acquired", version: 2, resumes: ["r"], pid: "w", ttl: 5, address: "g", leaseExpiresAt: 9, createdAt: 0 };

  test("shows pid and ttl while acquired and hides routing and timers", () => {
    expect(publicTask(task)).toEqual({ id: "wf.1", state: "acquired", version: 2, resumes: ["r"], pid: "w", ttl: 5 });
  });

  test("is fulfilled when its promise is settled or timed out", () => {
    expect(publicTask(task, stored({ state: "resolved" })).state).toBe("fulfilled");
    expect(publicTask(task, stored(), 1000)).toEqual({ id: "wf.1", state: "fulfilled", version: 2, resumes: [] });
    expect(publicTask(task, stored(), 999).state).toBe("acquired");
  });
});

describe("filters", () => {
  test("matchPromise filters by state", () => {
    expect(matchPromise(projectPromise(stored(), 0), { state: "pending" })).toBe(true);
    expect(matchPromise(projectPromise(stored(), 2000), { state: "pending" })).toBe(false);
  });

  test("matchPromise matches tags as a subset, exactly", () => {
    const p = projectPromise(stored(), 0);
    expect(matchPromise(p, { tags: { a: "1" } })).toBe(true);
    expect(matchPromise(p, { tags: { a: "1", b: "2" } })).toBe(true);
    expect(matchPromise(p, { tags: { a: "2" } })).toBe(false);
    expect(matchPromise(p, { tags: { c: "1" } })).toBe(false);
  });

  test("an id filter without '*' is a prefix", () => {
    expect(matchId("wf.1", "wf")).toBe(true);
    expect(matchId("xwf.1", "wf")).toBe(false);
  });

  test("an id filter with '*' is a glob over the whole id", () => {
    expect(matchId("wf.1", "wf*")).toBe(true);
    expect(matchId("wf.1.2", "*.2")).toBe(true);
    expect(matchId("wf.1.3", "*.2")).toBe(false);
    expect(matchId("a-b-c", "a*b*c")).toBe(true);
    expect(matchId("a-c", "a*b*c")).toBe(false);
    expect(matchId("ab", "a*b*b")).toBe(false);
    expect(matchId("anything", "*")).toBe(true);
  });

  test("idListPrefix is the literal part before the first '*'", () => {
    expect(idListPrefix("wf.*.2")).toBe("wf.");
    expect(idListPrefix("wf")).toBe("wf");
    expect(idListPrefix(undefined)).toBe("");
  });

  test("matchTask filters the public task by effective state and id", () => {
    expect(matchTask({ id: "t.1", state: "fulfilled", version: 1, resumes: [] }, { state: "fulfilled", id: "t" })).toBe(true);
    expect(matchTask({ id: "t.1", state: "pending", version: 1, resumes: [] }, { state: "fulfilled" })).toBe(false);
  });

  test("matchSchedule matches tags against the promise tags", () => {
    const w = new World();
    const s = w.ok(req.scheduleCreate("nightly", "0 0 * * *", { promiseTags: { [Tag.target]: "g", team: "x" } })).schedule;
    expect(matchSchedule(s, { tags: { team: "x" }, id: "night" })).toBe(true);
    expect(matchSchedule(s, { tags: { team: "y" } })).toBe(false);
  });
});

describe("paging", () => {
  test("searchLimit defaults to 100", () => {
    expect(searchLimit()).toBe(100);
    expect(searchLimit(7)).toBe(7);
  });

  test("page gives a cursor (the last id) only when more matches follow", () => {
    const items = ["a", "b", "c"].map((id) => ({ id }));
    expect(page(items, 3)).toEqual({ items });
    expect(page(items, 2)).toEqual({ items: items.slice(0, 2), cursor: "b" });
  });

  test("a projected listing reflects lazy timeouts without writing", () => {
    const w = new World();
    w.create("p", { timeoutAt: w.now + 1 });
    w.advance(HOUR);
    const listing = [...w.promises.values()].map((p) => projectPromise(p, w.now));
    expect(listing.filter((p) => matchPromise(p, { state: "rejected_timedout" })).map((p) => p.id)).toEqual(["p"]);
    expect(w.promises.get("p")!.state).toBe("pending");
  });
});
