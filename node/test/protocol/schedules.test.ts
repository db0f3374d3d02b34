import { describe, expect, test } from "vitest";
import { Tag } from "../../src/protocol/types.ts";
import { HOUR, TARGET, World, b64, errorOf, req } from "./harness.ts";

const MINUTE = 60_000;
// 2026-01-01T00:00:00Z, a whole minute.
const T0 = Date.UTC(2026, 0, 1);

describe("schedule.create, get, delete", () => {
  test("create stores the schedule with createdAt = now and nextRunAt = the next cron time after now", () => {
    const w = new World(T0 + 30_000);
    const s = w.ok(req.scheduleCreate("s", "*/5 * * * *", { promiseParam: { headers: {}, data: b64("{}") } })).schedule;
    expect(s).toEqual({
      id: "s",
      cron: "*/5 * * * *",
      promiseId: "{{.id}}-{{.timestamp}}",
      promiseTimeout: HOUR,
      promiseParam: { headers: {}, data: b64("{}") },
      promiseTags: { [Tag.target]: TARGET },
      createdAt: T0 + 30_000,
      nextRunAt: T0 + 5 * MINUTE,
    });
  });

  test("a 6-field cron has second precision", () => {
    const w = new World(T0 + 1_500);
    expect(w.ok(req.scheduleCreate("s", "*/10 * * * * *")).schedule.nextRunAt).toBe(T0 + 10_000);
  });

  test("create is idempotent by id: an existing schedule answers 200 unchanged", () => {
    const w = new World(T0);
    const first = w.ok(req.scheduleCreate("s", "* * * * *")).schedule;
    w.advance(10);
    const t = w.run(req.scheduleCreate("s", "0 * * * *"));
    expect("data" in t.response && t.response.data.schedule).toEqual(first);
    expect(t.writes).toEqual([]);
  });

  test("get of a missing schedule answers 404 SCHEDULE_NOT_FOUND", () => {
    const w = new World(T0);
    expect(errorOf(w.send(req.scheduleGet("s")))).toMatchObject({ status: 404, code: "SCHEDULE_NOT_FOUND" });
  });

  test("get returns the schedule", () => {
    const w = new World(T0);
    const s = w.ok(req.scheduleCreate("s", "* * * * *")).schedule;
    expect(w.ok(req.scheduleGet("s")).schedule).toEqual(s);
  });

  test("delete removes the schedule; a second delete answers 404", () => {
    const w = new World(T0);
    w.ok(req.scheduleCreate("s", "* * * * *"));
    expect(w.send(req.scheduleDelete("s"))).toEqual({ kind: "schedule.delete", status: 200, data: {} });
    expect(w.schedules.has("s")).toBe(false);
    expect(errorOf(w.send(req.scheduleDelete("s")))).toMatchObject({ status: 404, code: "SCHEDULE_NOT_FOUND" });
  });

  test("a schedule id containing '.' answers 400", () => {
    const w = new World(T0);
    expect(errorOf(w.send(req.scheduleCreate("a.b", "* * * * *")))).toMatchObject({ status: 400, field: "data.id" });
  });

  test("promiseTags without resonate:target answer 400", () => {
    const w = new World(T0);
    expect(errorOf(w.send(req.scheduleCreate("s", "* * * * *", { promiseTags: {} })))).toMatchObject({
      status: 400,
      field: `data.promiseTags["${Tag.target}"]`,
    });
  });

  test("a cron that does not parse answers 400 naming data.cron", () => {
    const w = new World(T0);
    for (const cron of ["", "* * *", "61 * * * *", "* * * * * * *", "not a cron"]) {
      expect(errorOf(w.send(req.scheduleCreate("s", cron)))).toMatchObject({ status: 400, field: "data.cron" });
    }
    expect(w.schedules.size).toBe(0);
  });
});

describe("schedule firing", () => {
  test("a tick creates the promise from the template with the scheduled time, its tags and timeout", () => {
    const w = new World(T0 + 10);
    w.ok(req.scheduleCreate("s", "* * * * *", { promiseParam: { headers: {}, data: b64("p") }, promiseTags: { [Tag.target]: TARGET, k: "v" } }));
    const fireTime = T0 + MINUTE;
    w.now = fireTime + 2_000; // the loop runs a little late
    const e = w.fire("s");
    const id = `s-${fireTime}`;
    expect(w.promises.get(id)).toEqual({
      id,
      state: "pending",
      param: { headers: {}, data: b64("p") },
      value: { headers: {}, data: "" },
      tags: { [Tag.target]: TARGET, k: "v", [Tag.schedule]: "s", [Tag.origin]: id, [Tag.branch]: id, [Tag.parent]: id, [Tag.prefix]: id },
      timeoutAt: fireTime + HOUR,
      createdAt: fireTime,
      callbacks: [],
      listeners: [],
    });
    expect(w.tasks.get(id)).toMatchObject({ state: "pending", version: 0 });
    expect(e.messages).toEqual([{ kind: "execute", address: TARGET, task: { id, version: 0 } }]);
    expect(w.schedules.get("s")).toMatchObject({ lastRunAt: fireTime, nextRunAt: fireTime + MINUTE });
  });

  test("{{.id}} renders the schedule id anywhere in the template", () => {
    const w = new World(T0);
    w.ok(req.scheduleCreate("s", "* * * * *", { promiseId: "job/{{.id}}/{{.timestamp}}/{{.id}}" }));
    w.now = T0 + MINUTE;
    w.fire("s");
    expect(w.promises.has(`job/s/${T0 + MINUTE}/s`)).toBe(true);
  });

  test("missed ticks are caught up, each exactly once, and the next run follows the last scheduled time", () => {
    const w = new World(T0);
    w.ok(req.scheduleCreate("s", "* * * * *"));
    w.now = T0 + 5 * MINUTE + 30_000;
    w.fire("s");
    const ids = [...w.promises.keys()].sort();
    expect(ids).toEqual([1, 2, 3, 4, 5].map((m) => `s-${T0 + m * MINUTE}`));
    expect(w.schedules.get("s")).toMatchObject({ lastRunAt: T0 + 5 * MINUTE, nextRunAt: T0 + 6 * MINUTE });
    expect(w.fire("s")).toEqual({ writes: [], messages: [] });
  });

  test("a caught-up tick past its timeout is created already timed out, createdAt at its scheduled time", () => {
    const w = new World(T0);
    w.ok(req.scheduleCreate("s", "* * * * *", { promiseTimeout: 1000 }));
    w.now = T0 + 3 * MINUTE;
    w.fire("s");
    const first = w.promises.get(`s-${T0 + MINUTE}`)!;
    expect(first).toMatchObject({ state: "rejected_timedout", createdAt: T0 + MINUTE, settledAt: T0 + MINUTE + 1000 });
    expect(w.tasks.get(first.id)!.state).toBe("fulfilled");
    expect(w.promises.get(`s-${T0 + 3 * MINUTE}`)!.state).toBe("pending");
  });

  test("catch-up is capped per call and continues on the next call", () => {
    const w = new World(T0, { maxCatchUpTicks: 3 });
    w.ok(req.scheduleCreate("s", "* * * * *"));
    w.now = T0 + 5 * MINUTE;
    w.fire("s");
    expect(w.promises.size).toBe(3);
    expect(w.schedules.get("s")!.nextRunAt).toBe(T0 + 4 * MINUTE);
    w.fire("s");
    expect(w.promises.size).toBe(5);
    expect(w.schedules.get("s")!.nextRunAt).toBe(T0 + 6 * MINUTE);
  });

  test("a tick whose promise already exists creates nothing new", () => {
    const w = new World(T0);
    w.ok(req.scheduleCreate("s", "* * * * *"));
    const id = `s-${T0 + MINUTE}`;
    w.create(id, { tags: { mine: "yes" } });
    w.now = T0 + MINUTE;
    const e = w.fire("s");
    expect(w.promises.get(id)!.tags).toEqual({ mine: "yes" });
    expect(e.messages).toEqual([]);
    expect(w.schedules.get("s")!.lastRunAt).toBe(T0 + MINUTE);
  });

  test("firing before nextRunAt, or a deleted schedule, is a no-op", () => {
    const w = new World(T0);
    w.ok(req.scheduleCreate("s", "* * * * *"));
    w.now = T0 + MINUTE - 1;
    expect(w.fire("s")).toEqual({ writes: [], messages: [] });
    w.ok(req.scheduleDelete("s"));
    w.now = T0 + MINUTE;
    expect(w.fire("s")).toEqual({ writes: [], messages: [] });
  });
});
