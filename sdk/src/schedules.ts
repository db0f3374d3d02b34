// `resonate.schedules`: cron schedules whose ticks create durable promises.

import type { ScheduleRecord } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";
import type { Send } from "./execution.ts";
import { ResonateError, ServerError } from "./errors.ts";
import { unknownError } from "./handles.ts";
import { validateId } from "./ids.ts";

export interface CreateScheduleOptions {
  /** Template of each tick's promise id; `{{.id}}` and `{{.timestamp}}` are filled in. */
  promiseId?: string;
  /** Relative timeout of each tick's promise in ms (default 24 h). */
  promiseTimeout?: number;
  promiseParam?: unknown;
  promiseTags?: Record<string, string>;
}

export interface SearchSchedulesOptions {
  tags?: Record<string, string>;
  id?: string;
  limit?: number;
  cursor?: string;
}

export class Schedules {
  /** @internal */
  constructor(
    private readonly send: Send,
    private readonly codec: Codec,
    private readonly qualify: (id: string) => string,
  ) {}

  async create(id: string, cron: string, options: CreateScheduleOptions = {}): Promise<ScheduleRecord> {
    const full = this.qualify(validateId(id, "schedules.create() id"));
    const res = await this.send({
      kind: "schedule.create",
      data: {
        id: full,
        cron,
        promiseId: options.promiseId ?? "{{.id}}-{{.timestamp}}",
        promiseTimeout: options.promiseTimeout ?? 24 * 60 * 60 * 1000,
        promiseParam: this.codec.encode(options.promiseParam, "promiseParam", full),
        promiseTags: options.promiseTags ?? {},
      },
    });
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), full);
    return res.data.schedule;
  }

  async get(id: string): Promise<ScheduleRecord> {
    const full = this.qualify(validateId(id, "schedules.get() id"));
    const res = await this.send({ kind: "schedule.get", data: { id: full } });
    if (res.status === 404) throw new ResonateError("SCHEDULE_NOT_FOUND", `no schedule with id "${full}" exists.`, full);
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), full);
    return res.data.schedule;
  }

  async delete(id: string): Promise<void> {
    const full = this.qualify(validateId(id, "schedules.delete() id"));
    const res = await this.send({ kind: "schedule.delete", data: { id: full } });
    if (res.status === 404) throw new ResonateError("SCHEDULE_NOT_FOUND", `no schedule with id "${full}" exists.`, full);
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), full);
  }

  async search(options: SearchSchedulesOptions = {}): Promise<{ schedules: ScheduleRecord[]; cursor?: string }> {
    const data = { ...options, ...(options.id !== undefined ? { id: this.qualify(options.id) } : {}) };
    const res = await this.send({ kind: "schedule.search", data });
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status));
    return res.data.cursor === undefined ? { schedules: res.data.schedules } : { schedules: res.data.schedules, cursor: res.data.cursor };
  }
}
