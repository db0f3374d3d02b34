// A real node in-process for the conformance suite: MeshNode on the memory
// store with a ManualClock, served by startServer on an ephemeral port, and
// real grpc-js clients built with our service adapter. Time only moves when a
// test says so (clock.advance + node.tick()).

import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, expect } from "vitest";
import { createClient, type ServiceClient } from "@resonate-mesh/node/internal-for-tests";
import { CODE_METADATA, FIELD_METADATA } from "@resonate-mesh/node/client";
import { Health } from "@resonate-mesh/node/proto";
import { PromiseService } from "@resonate-mesh/node/proto";
import { PromiseState, SettleState, TaskState } from "@resonate-mesh/node/proto";
import type { Promise as PbPromise } from "@resonate-mesh/node/proto";
import { ScheduleService } from "@resonate-mesh/node/proto";
import { TaskService, type TaskServicePollResponse } from "@resonate-mesh/node/proto";
import { startMeshServer, type MeshServer } from "../support/mesh-node.ts";

export { PromiseState, SettleState, TaskState };

/** 2023-11-14T22:13:20Z: a round start so expected times read easily. */
export const T0 = 1_700_000_000_000;
export const HOUR = 3_600_000;

export interface TestNode extends MeshServer {
  promises: ServiceClient<(typeof PromiseService)["method"]>;
  tasks: ServiceClient<(typeof TaskService)["method"]>;
  schedules: ServiceClient<(typeof ScheduleService)["method"]>;
  health: ServiceClient<(typeof Health)["method"]>;
  /** Move time and run every timer that became due. */
  advance(ms: number): Promise<void>;
  /** Open a worker inbox; resolves once the node has registered it. */
  poll(group: string, pid: string): Promise<Inbox>;
}

export async function startTestNode(options: { retryIntervalMs?: number } = {}): Promise<TestNode> {
  // The timer loop is not started: timers run only in advance(), so every test is deterministic.
  const mesh = await startMeshServer({
    now: T0,
    protocol: options.retryIntervalMs ? { retryIntervalMs: options.retryIntervalMs } : {},
    server: { host: "127.0.0.1", shutdownGraceMs: 1_000 },
  });
  const { clock, node, server } = mesh;
  const promises = createClient(PromiseService, server.address);
  const tasks = createClient(TaskService, server.address);
  const schedules = createClient(ScheduleService, server.address);
  const health = createClient(Health, server.address);
  const inboxes: Inbox[] = [];
  return {
    ...mesh,
    promises,
    tasks,
    schedules,
    health,
    async advance(ms) {
      clock.advance(ms);
      await node.tick();
    },
    async poll(group, pid) {
      const inbox = await Inbox.open(tasks, group, pid);
      inboxes.push(inbox);
      return inbox;
    },
    async close() {
      for (const inbox of inboxes) inbox.cancel();
      for (const c of [promises, tasks, schedules, health]) c.close();
      await mesh.close();
    },
  };
}

/**
 * A fresh node for each test of the enclosing file or describe block: started
 * before the test, closed after it. Use it only inside tests and hooks.
 */
export function nodePerTest(options: { retryIntervalMs?: number } = {}): TestNode {
  // One object for the whole block, refilled with each test's node.
  const current = {} as TestNode;
  beforeEach(async () => {
    Object.assign(current, await startTestNode(options));
  });
  afterEach(async () => {
    await current.close();
  });
  return current;
}

/** A worker's Poll stream as a queue of messages. */
export class Inbox {
  private readonly queue: TaskServicePollResponse[] = [];
  private waiters: (() => void)[] = [];
  ended: grpc.ServiceError | "ok" | undefined;

  private constructor(readonly stream: grpc.ClientReadableStream<TaskServicePollResponse>) {
    stream.on("data", (m: TaskServicePollResponse) => {
      this.queue.push(m);
      this.wake();
    });
    stream.on("error", (err: grpc.ServiceError) => {
      this.ended = err;
      this.wake();
    });
    stream.on("end", () => {
      this.ended ??= "ok";
      this.wake();
    });
  }

  static open(
    tasks: ServiceClient<(typeof TaskService)["method"]>,
    group: string,
    pid: string,
  ): Promise<Inbox> {
    const inbox = new Inbox(tasks.poll({ group, pid }));
    return new Promise((resolve, reject) => {
      inbox.stream.once("metadata", () => resolve(inbox));
      inbox.stream.once("error", reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The next message, or a failure after `ms` of real time. */
  async next(ms = 2_000): Promise<TaskServicePollResponse> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      if (this.ended !== undefined) throw new Error(`poll stream ended: ${this.ended === "ok" ? "OK" : this.ended.message}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.queue.shift()!;
  }

  /** The next message, which must be an execute; returns its task ref. */
  async nextExecute(ms?: number): Promise<{ id: string; version: bigint }> {
    const m = await this.next(ms);
    expect(m.message.case).toBe("execute");
    const task = (m.message.value as { task?: { id: string; version: bigint } }).task!;
    return { id: task.id, version: task.version };
  }

  /** The next message, which must be an unblock; returns its promise. */
  async nextUnblock(ms?: number): Promise<PbPromise> {
    const m = await this.next(ms);
    expect(m.message.case).toBe("unblock");
    return (m.message.value as { promise?: PbPromise }).promise!;
  }

  /** Nothing arrives within `ms` of real time. */
  async expectNothing(ms = 150): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    expect(this.queue.map((m) => m.message.case)).toEqual([]);
  }

  cancel(): void {
    this.stream.cancel();
  }
}

/** The call fails with this gRPC status, the node's stable code, and a message matching `message`. */
export async function expectStatus(
  call: Promise<unknown>,
  code: grpc.status,
  resonateCode: string,
  message?: RegExp | string,
): Promise<grpc.ServiceError> {
  const err = await call.then(
    (value) => {
      throw new Error(`expected ${grpc.status[code]}, got OK: ${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
    },
    (e: grpc.ServiceError) => e,
  );
  expect(grpc.status[err.code]).toBe(grpc.status[code]);
  expect(err.metadata.get(CODE_METADATA)).toEqual([resonateCode]);
  if (message !== undefined) expect(err.details).toMatch(message);
  return err;
}

/** INVALID_ARGUMENT naming `field` (in the message and in `resonate-field`). */
export async function expectInvalid(call: Promise<unknown>, field: string, rule?: RegExp): Promise<grpc.ServiceError> {
  const err = await expectStatus(call, grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  expect(err.metadata.get(FIELD_METADATA)).toEqual([field]);
  expect(err.details.startsWith(field)).toBe(true);
  if (rule !== undefined) expect(err.details).toMatch(rule);
  return err;
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data ?? new Uint8Array());

/** Tags of a promise whose task goes to `address`. */
export const target = (address: string): Record<string, string> => ({ "resonate:target": address });

export { grpc };
