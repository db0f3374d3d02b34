// A tiny in-memory world for protocol tests: a Snapshot over Maps that applies
// each transition's writes, keeps every message sent, and has a clock. Records
// are stored frozen, so a transition that mutates what it read fails loudly.

import type { ProtocolConfig } from "../../src/protocol/config.ts";
import { expireLease, fireSchedule, retryTask, timeoutPromise } from "../../src/protocol/timers.ts";
import { transition } from "../../src/protocol/transition.ts";
import {
  Tag,
  type Kind,
  type Message,
  type PromiseCreateData,
  type PromiseRecord,
  type Request,
  type RequestOf,
  type Response,
  type ResponseDataMap,
  type ScheduleRecord,
  type Snapshot,
  type StoredPromise,
  type StoredTask,
  type Transition,
  type Write,
} from "../../src/protocol/types.ts";

export const TARGET = "poll://any@workers";
export const HOUR = 3_600_000;

function freeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) freeze(v);
    Object.freeze(value);
  }
  return value;
}

export class World implements Snapshot {
  readonly promises = new Map<string, StoredPromise>();
  readonly tasks = new Map<string, StoredTask>();
  readonly schedules = new Map<string, ScheduleRecord>();
  /** Every message sent so far, in order. */
  readonly sent: Message[] = [];
  now: number;

  constructor(
    now = 1_000_000,
    readonly config: Partial<ProtocolConfig> = {},
  ) {
    this.now = now;
  }

  promise(id: string): StoredPromise | undefined {
    return this.promises.get(id);
  }
  task(id: string): StoredTask | undefined {
    return this.tasks.get(id);
  }
  schedule(id: string): ScheduleRecord | undefined {
    return this.schedules.get(id);
  }
  branch(branch: string): StoredPromise[] {
    return [...this.promises.values()].filter((p) => p.tags[Tag.branch] === branch);
  }

  apply(writes: Write[]): void {
    for (const w of writes) {
      const record = freeze(structuredClone("record" in w ? w.record : undefined));
      switch (w.type) {
        case "promise":
          this.promises.set(w.record.id, record as StoredPromise);
          break;
        case "task":
          this.tasks.set(w.record.id, record as StoredTask);
          break;
        case "schedule":
          this.schedules.set(w.record.id, record as ScheduleRecord);
          break;
        case "schedule.delete":
          this.schedules.delete(w.id);
          break;
      }
    }
  }

  /** Run a request at the current time and apply its effects. */
  run<K extends Kind>(request: RequestOf<K>): Transition<K> {
    const t = transition(this, request, this.now, this.config);
    this.apply(t.writes);
    this.sent.push(...t.messages);
    return t;
  }

  send<K extends Kind>(request: RequestOf<K>): Response<K> {
    return this.run(request).response;
  }

  /** Run a request that must succeed (200 or 300) and return its data. */
  ok<K extends Kind>(request: RequestOf<K>): ResponseDataMap[K] {
    const r = this.send(request);
    if (!("data" in r)) throw new Error(`${request.kind} failed: ${r.status} ${r.error.code}: ${r.error.message}`);
    return r.data;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  timeout(id: string) {
    return this.effects(timeoutPromise(this, id, this.now, this.config));
  }
  expire(id: string) {
    return this.effects(expireLease(this, id, this.now, this.config));
  }
  retry(id: string) {
    return this.effects(retryTask(this, id, this.now, this.config));
  }
  fire(id: string) {
    return this.effects(fireSchedule(this, id, this.now, this.config));
  }

  private effects(e: { writes: Write[]; messages: Message[] }) {
    this.apply(e.writes);
    this.sent.push(...e.messages);
    return e;
  }

  /** Messages sent from now on: call, act, then read `.messages`. */
  mark(): { readonly messages: Message[] } {
    const from = this.sent.length;
    const sent = this.sent;
    return {
      get messages() {
        return sent.slice(from);
      },
    };
  }

  // ------------------------------------------------------------ shortcuts

  create(id: string, options: Partial<PromiseCreateData> = {}): PromiseRecord {
    return this.ok(req.create(id, { timeoutAt: this.now + HOUR, ...options })).promise;
  }

  /** A targeted promise (so with a task) that an hour from now times out. */
  createTargeted(id: string, tags: Record<string, string> = {}, timeoutAt = this.now + HOUR): PromiseRecord {
    return this.create(id, { timeoutAt, tags: { [Tag.target]: TARGET, ...tags } });
  }

  /** A targeted promise whose task is acquired by `pid` (version 1). */
  acquired(id: string, pid = "p1", ttl = 60_000, tags: Record<string, string> = {}): void {
    this.createTargeted(id, tags);
    this.ok(req.acquire(id, 0, pid, ttl));
  }
}

/** Request builders with defaults that tests override. */
export const req = {
  get: (id: string): RequestOf<"promise.get"> => ({ kind: "promise.get", data: { id } }),
  create: (id: string, data: Partial<PromiseCreateData> & { timeoutAt: number }): RequestOf<"promise.create"> => ({
    kind: "promise.create",
    data: { id, ...data },
  }),
  settle: (
    id: string,
    state: "resolved" | "rejected" | "rejected_canceled" = "resolved",
    data = "",
  ): RequestOf<"promise.settle"> => ({ kind: "promise.settle", data: { id, state, value: { headers: {}, data } } }),
  callback: (awaited: string, awaiter: string): RequestOf<"promise.register_callback"> => ({
    kind: "promise.register_callback",
    data: { awaited, awaiter },
  }),
  listener: (awaited: string, address: string): RequestOf<"promise.register_listener"> => ({
    kind: "promise.register_listener",
    data: { awaited, address },
  }),
  taskGet: (id: string): RequestOf<"task.get"> => ({ kind: "task.get", data: { id } }),
  taskCreate: (
    id: string,
    pid: string,
    ttl: number,
    timeoutAt: number,
    tags: Record<string, string> = { [Tag.target]: TARGET },
  ): RequestOf<"task.create"> => ({
    kind: "task.create",
    data: { pid, ttl, action: { kind: "promise.create", data: { id, timeoutAt, tags } } },
  }),
  acquire: (id: string, version: number, pid = "p1", ttl = 60_000): RequestOf<"task.acquire"> => ({
    kind: "task.acquire",
    data: { id, version, pid, ttl },
  }),
  release: (id: string, version: number): RequestOf<"task.release"> => ({ kind: "task.release", data: { id, version } }),
  suspend: (id: string, version: number, awaited: string[]): RequestOf<"task.suspend"> => ({
    kind: "task.suspend",
    data: {
      id,
      version,
      actions: awaited.map((a) => ({ kind: "promise.register_callback" as const, data: { awaited: a, awaiter: id } })),
    },
  }),
  fulfill: (
    id: string,
    version: number,
    state: "resolved" | "rejected" | "rejected_canceled" = "resolved",
    data = "",
  ): RequestOf<"task.fulfill"> => ({
    kind: "task.fulfill",
    data: { id, version, action: { kind: "promise.settle", data: { id, state, value: { headers: {}, data } } } },
  }),
  fence: (
    id: string,
    version: number,
    action: RequestOf<"promise.create"> | RequestOf<"promise.settle">,
  ): RequestOf<"task.fence"> => ({ kind: "task.fence", data: { id, version, action } }),
  heartbeat: (pid: string, tasks: { id: string; version: number }[]): RequestOf<"task.heartbeat"> => ({
    kind: "task.heartbeat",
    data: { pid, tasks },
  }),
  halt: (id: string): RequestOf<"task.halt"> => ({ kind: "task.halt", data: { id } }),
  continue: (id: string): RequestOf<"task.continue"> => ({ kind: "task.continue", data: { id } }),
  scheduleCreate: (
    id: string,
    cron: string,
    extra: Partial<RequestOf<"schedule.create">["data"]> = {},
  ): RequestOf<"schedule.create"> => ({
    kind: "schedule.create",
    data: {
      id,
      cron,
      promiseId: "{{.id}}-{{.timestamp}}",
      promiseTimeout: HOUR,
      promiseTags: { [Tag.target]: TARGET },
      ...extra,
    },
  }),
  scheduleGet: (id: string): RequestOf<"schedule.get"> => ({ kind: "schedule.get", data: { id } }),
  scheduleDelete: (id: string): RequestOf<"schedule.delete"> => ({ kind: "schedule.delete", data: { id } }),
};

/** The error of a failed response (throws when it succeeded). */
export function errorOf(r: Response) {
  if (!("error" in r)) throw new Error(`expected an error, got status ${r.status}`);
  return r.error;
}

/** Any request, untyped: for feeding malformed input. */
export function raw(kind: string, data: unknown): Request {
  return { kind, data } as unknown as Request;
}

export const b64 = (s: string) => Buffer.from(s).toString("base64");
