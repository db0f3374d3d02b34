// schedule.get, schedule.create, schedule.delete, and the firing of a
// schedule's ticks (called by the timer loop through timers.ts).

import { cronTimes, nextCronTime } from "./cron.ts";
import { createPromise } from "./promises.ts";
import { normalizeValue } from "./records.ts";
import { errors, fail, ok, protocolError } from "./responses.ts";
import type { Tx } from "./tx.ts";
import { Tag, type RequestOf, type Response, type ScheduleRecord } from "./types.ts";
// A cron with no further fire time runs next "never", the same time as an int64-max timeout.
import { NEVER } from "./validate.ts";

export function scheduleGet(tx: Tx, data: { id: string }): Response<"schedule.get"> {
  const schedule = tx.schedule(data.id);
  if (schedule === undefined) return fail("schedule.get", errors.scheduleNotFound(data.id));
  return ok("schedule.get", { schedule });
}

export function scheduleCreate(tx: Tx, data: RequestOf<"schedule.create">["data"]): Response<"schedule.create"> {
  const existing = tx.schedule(data.id);
  if (existing !== undefined) return ok("schedule.create", { schedule: existing });
  const nextRunAt = nextCronTime(data.cron, tx.now);
  if (nextRunAt === undefined) {
    return fail(
      "schedule.create",
      protocolError(400, "INVALID_ARGUMENT", `data.cron "${data.cron}" never fires after now`, "data.cron"),
    );
  }
  const schedule = tx.putSchedule({
    id: data.id,
    cron: data.cron,
    promiseId: data.promiseId,
    promiseTimeout: data.promiseTimeout,
    promiseParam: normalizeValue(data.promiseParam),
    promiseTags: { ...(data.promiseTags ?? {}) },
    createdAt: tx.now,
    nextRunAt,
  });
  return ok("schedule.create", { schedule });
}

export function scheduleDelete(tx: Tx, data: { id: string }): Response<"schedule.delete"> {
  if (tx.schedule(data.id) === undefined) return fail("schedule.delete", errors.scheduleNotFound(data.id));
  tx.deleteSchedule(data.id);
  return ok("schedule.delete", {});
}

/** The id of the promise a schedule creates for the tick scheduled at `time`. */
export function renderPromiseId(template: string, scheduleId: string, time: number): string {
  return template.replaceAll("{{.id}}", scheduleId).replaceAll("{{.timestamp}}", String(time));
}

/**
 * Create the promise of every tick scheduled at or before now, oldest first,
 * at most `maxCatchUpTicks` of them; the schedule then points at the next
 * tick after the last one created (which may still be due).
 */
export function fireDueTicks(tx: Tx, schedule: ScheduleRecord): void {
  const next = cronTimes(schedule.cron, schedule.nextRunAt);
  let time: number | undefined = schedule.nextRunAt;
  let lastRunAt = schedule.lastRunAt;
  for (let n = 0; time !== undefined && time <= tx.now && n < tx.config.maxCatchUpTicks; n++) {
    createTick(tx, schedule, time);
    lastRunAt = time;
    time = next();
  }
  const updated: ScheduleRecord = { ...schedule, nextRunAt: time ?? NEVER };
  if (lastRunAt !== undefined) updated.lastRunAt = lastRunAt;
  tx.putSchedule(updated);
}

function createTick(tx: Tx, schedule: ScheduleRecord, time: number): void {
  const id = renderPromiseId(schedule.promiseId, schedule.id, time);
  createPromise(
    tx,
    {
      id,
      timeoutAt: time + schedule.promiseTimeout,
      param: schedule.promiseParam,
      tags: {
        ...schedule.promiseTags,
        [Tag.schedule]: schedule.id,
        [Tag.origin]: id,
        [Tag.branch]: id,
        [Tag.parent]: id,
        [Tag.prefix]: id,
      },
    },
    { createdAt: time },
  );
}
