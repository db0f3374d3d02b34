// ScheduleService over gRPC against a real node: create, get, delete,
// search, and ticks (with catch-up) driven by the clock.

import { describe, expect, test } from "vitest";
import { PromiseState, T0, TaskState, bytes, expectInvalid, expectStatus, grpc, nodePerTest, target, text } from "./harness.ts";

const n = nodePerTest();

const FIVE_MIN = 5 * 60_000;
// T0 is 22:13:20 UTC: the next five-minute mark is 22:15:00.
const FIRST_TICK = T0 + 100_000;

const createSchedule = (id = "report", extra: Record<string, unknown> = {}) =>
  n.schedules.create({
    id,
    cron: "*/5 * * * *",
    promiseId: "{{.id}}-{{.timestamp}}",
    promiseTimeout: 60_000n,
    promiseParam: { data: bytes('{"func":"report"}') },
    promiseTags: { ...target("poll://any@reporters"), team: "ops" },
    ...extra,
  });

describe("create, get, delete", () => {
  test("a new schedule's next run is the first cron time after now", async () => {
    const { schedule } = await createSchedule();
    expect(schedule).toMatchObject({
      id: "report",
      cron: "*/5 * * * *",
      promiseId: "{{.id}}-{{.timestamp}}",
      promiseTimeout: 60_000n,
      createdAt: BigInt(T0),
      nextRunAt: BigInt(FIRST_TICK),
    });
    expect(schedule!.lastRunAt).toBeUndefined();
  });

  test("create is idempotent by id", async () => {
    await createSchedule();
    const { schedule } = await createSchedule("report", { cron: "0 * * * *" });
    expect(schedule!.cron).toBe("*/5 * * * *");
  });

  test("get reads it; an unknown id is NOT_FOUND", async () => {
    await createSchedule();
    expect((await n.schedules.get({ id: "report" })).schedule!.id).toBe("report");
    await expectStatus(n.schedules.get({ id: "nope" }), grpc.status.NOT_FOUND, "SCHEDULE_NOT_FOUND");
  });

  test("delete removes it; deleting an unknown schedule is NOT_FOUND", async () => {
    await createSchedule();
    await n.schedules.delete({ id: "report" });
    await expectStatus(n.schedules.get({ id: "report" }), grpc.status.NOT_FOUND, "SCHEDULE_NOT_FOUND");
    await expectStatus(n.schedules.delete({ id: "report" }), grpc.status.NOT_FOUND, "SCHEDULE_NOT_FOUND");
  });

  test("a deleted schedule creates no more promises", async () => {
    await createSchedule();
    await n.schedules.delete({ id: "report" });
    await n.advance(FIRST_TICK - T0);
    expect((await n.promises.search({ id: "report-" })).promises).toEqual([]);
  });

  test("a six-field cron (seconds first) is accepted", async () => {
    const { schedule } = await createSchedule("fast", { cron: "*/10 * * * * *" });
    expect(schedule!.nextRunAt).toBe(BigInt(T0 + 10_000));
  });
});

describe("ticks", () => {
  test("a tick creates the promise for the scheduled time, with its task dispatched to the target", async () => {
    const inbox = await n.poll("reporters", "r1");
    await createSchedule();
    await n.advance(FIRST_TICK - T0 + 1_234);
    const id = `report-${FIRST_TICK}`;
    expect(await inbox.nextExecute()).toEqual({ id, version: 0n });
    const { promise } = await n.promises.get({ id });
    expect(promise).toMatchObject({
      state: PromiseState.PENDING,
      createdAt: BigInt(FIRST_TICK),
      timeoutAt: BigInt(FIRST_TICK + 60_000),
    });
    expect(promise!.tags).toMatchObject({ team: "ops", "resonate:schedule": "report", "resonate:origin": id });
    expect(text(promise!.param!.data)).toBe('{"func":"report"}');
    expect((await n.tasks.get({ id })).task!.state).toBe(TaskState.PENDING);
  });

  test("after a tick the schedule points at the next one and records the last", async () => {
    await createSchedule();
    await n.advance(FIRST_TICK - T0);
    const { schedule } = await n.schedules.get({ id: "report" });
    expect(schedule).toMatchObject({ lastRunAt: BigInt(FIRST_TICK), nextRunAt: BigInt(FIRST_TICK + FIVE_MIN) });
  });

  test("missed ticks are caught up, each exactly once", async () => {
    await createSchedule();
    await n.advance(FIRST_TICK - T0 + 2 * FIVE_MIN + 1);
    await n.advance(0);
    const ids = (await n.promises.search({ id: "report-" })).promises.map((p) => p.id);
    expect(ids).toEqual([0, 1, 2].map((i) => `report-${FIRST_TICK + i * FIVE_MIN}`));
  });

  test("nothing is created before the first tick", async () => {
    await createSchedule();
    await n.advance(FIRST_TICK - T0 - 1);
    expect((await n.promises.search({ id: "report-" })).promises).toEqual([]);
  });
});

describe("search", () => {
  test("by id prefix or glob and by promise tags, ordered by id, a page at a time", async () => {
    await createSchedule("a-daily");
    await createSchedule("a-hourly");
    await createSchedule("b-daily", { promiseTags: { ...target("g"), team: "dev" } });
    const ids = (r: { schedules: { id: string }[] }) => r.schedules.map((s) => s.id);
    expect(ids(await n.schedules.search({}))).toEqual(["a-daily", "a-hourly", "b-daily"]);
    expect(ids(await n.schedules.search({ id: "a-" }))).toEqual(["a-daily", "a-hourly"]);
    expect(ids(await n.schedules.search({ id: "*-daily" }))).toEqual(["a-daily", "b-daily"]);
    expect(ids(await n.schedules.search({ tags: { team: "dev" } }))).toEqual(["b-daily"]);
    const page = await n.schedules.search({ limit: 2 });
    expect(ids(page)).toEqual(["a-daily", "a-hourly"]);
    expect(ids(await n.schedules.search({ limit: 2, cursor: page.cursor }))).toEqual(["b-daily"]);
  });
});

describe("bad input", () => {
  test("a cron that does not parse is INVALID_ARGUMENT naming cron, and nothing is written", async () => {
    await expectInvalid(createSchedule("s", { cron: "every day at noon" }), "cron");
    await expectStatus(n.schedules.get({ id: "s" }), grpc.status.NOT_FOUND, "SCHEDULE_NOT_FOUND");
  });

  test("promise tags without resonate:target are INVALID_ARGUMENT", async () => {
    await expectInvalid(createSchedule("s", { promiseTags: { team: "ops" } }), 'promise_tags["resonate:target"]');
    await expectStatus(n.schedules.get({ id: "s" }), grpc.status.NOT_FOUND, "SCHEDULE_NOT_FOUND");
  });

  test("a schedule id with '.' is INVALID_ARGUMENT naming id", async () => {
    await expectInvalid(createSchedule("a.b"), "id", /'\.'/);
  });

  test("a negative promise timeout is INVALID_ARGUMENT naming promise_timeout", async () => {
    await expectInvalid(createSchedule("s", { promiseTimeout: -1n }), "promise_timeout");
  });
});
