// The worker side of a client: `execute` messages become acquired tasks, each
// run by an Attempt while a heartbeat keeps its lease.

import type { PromiseRecord, TaskRecord, TaskRef } from "@resonate-mesh/node/protocol";
import { Tag } from "@resonate-mesh/node/protocol";
import { Attempt } from "./runner.ts";
import type { CoreDeps } from "./execution.ts";
import { functionNotRegistered, invalidArgument, ResonateError } from "./errors.ts";
import type { Heartbeat } from "./heartbeat.ts";
import { decodeRetryPolicy, Retry } from "./options/retry.ts";
import type { Invocation } from "./types.ts";

export interface WorkerOptions {
  deps: CoreDeps;
  pid: string;
  ttl: number;
  heartbeat: Heartbeat;
  /** A root this worker settled, for local waiters of its result. */
  onSettled(promise: PromiseRecord): void;
}

interface Running {
  attempt: Attempt;
  done: Promise<unknown>;
}

export class Worker {
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private readonly warned = new Set<string>();
  /** Consecutive unexpected failures per task, so a failing task is not released in a hot loop. */
  private readonly failures = new Map<string, number>();

  constructor(private readonly o: WorkerOptions) {}

  get active(): number {
    return this.running.size;
  }

  async onExecute(ref: TaskRef): Promise<void> {
    if (this.stopping) return;
    const { deps, pid, ttl } = this.o;
    const res = await deps.send({ kind: "task.acquire", data: { id: ref.id, version: ref.version, pid, ttl } });
    if (res.status !== 200) {
      // Someone else got it, or this message was a duplicate: both are normal.
      deps.logger.debug({ task: ref, status: res.status }, "execute not acquired");
      return;
    }
    await this.execute(res.data.task, res.data.promise, res.data.preload);
  }

  /** Run a task this client holds until it completes, suspends or is lost; the root when it settled here. */
  async execute(task: TaskRecord, promise: PromiseRecord, preload: PromiseRecord[]): Promise<PromiseRecord | undefined> {
    const { deps } = this.o;
    if (promise.state !== "pending") return promise;
    // A timer names no function: the node settles it at its deadline; let the lease lapse.
    if (promise.tags[Tag.timer] === "true") return undefined;
    const ref: TaskRef = { id: task.id, version: task.version };

    const invocation = this.invocationOf(promise);
    if (invocation instanceof ResonateError) {
      return this.reject(ref, promise, invocation);
    }
    const registered = deps.registry.get(invocation.func, invocation.version);
    if (registered === undefined) {
      // Another worker of the group may have it (a rolling deploy): leave the task for
      // them; its lease lapses and the node dispatches it again.
      const key = `${invocation.func}@${invocation.version ?? 0}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        deps.logger.error(
          { promise: promise.id },
          `${functionNotRegistered(invocation.func, invocation.version, promise.id).message} ` +
            `The task is left for another worker of this group; it comes back here after its lease (${this.o.ttl} ms) if none has it.`,
        );
      }
      return undefined;
    }

    this.o.heartbeat.hold(ref);
    const attempt = new Attempt(deps, ref, promise, preload, {
      fn: registered.fn,
      name: registered.name,
      version: registered.version,
      args: invocation.args,
      retry: decodeRetryPolicy(invocation.retry) ?? registered.retry ?? Retry.never(),
    });
    const done = attempt.execute();
    this.running.set(task.id, { attempt, done });
    try {
      const result = await done;
      switch (result.kind) {
        case "completed":
          this.failures.delete(task.id);
          this.o.onSettled(result.promise);
          return result.promise;
        case "failed": {
          const n = (this.failures.get(task.id) ?? 0) + 1;
          this.failures.set(task.id, n);
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (n - 1), 30_000)).unref());
          await this.release(ref);
          return undefined;
        }
        case "lost":
          deps.logger.debug({ task: ref, reason: result.reason }, "attempt ended");
          return undefined;
        case "suspended":
          this.failures.delete(task.id);
          return undefined;
      }
    } finally {
      this.o.heartbeat.release(ref);
      if (this.running.get(task.id)?.attempt === attempt) this.running.delete(task.id);
    }
  }

  /** Stop taking work; give running attempts `graceMs` to end, then release their tasks. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled([...this.running.values()].map((r) => r.done)), timeout]);
      clearTimeout(timer);
    }
    await Promise.all(
      [...this.running.values()].map(async ({ attempt }) => {
        attempt.abandon("the client is stopping");
        await this.release(attempt.task);
      }),
    );
    this.running.clear();
  }

  private invocationOf(promise: PromiseRecord): Invocation | ResonateError {
    let param: unknown;
    try {
      param = this.o.deps.codec.decode(promise.param, promise.id);
    } catch (error) {
      return error instanceof ResonateError ? error : invalidArgument(String(error), promise.id);
    }
    const p = param as Partial<Invocation> | undefined;
    if (p === null || typeof p !== "object" || typeof p.func !== "string" || (p.args !== undefined && !Array.isArray(p.args))) {
      return invalidArgument(
        `promise "${promise.id}" has a target but its param is not an invocation {func, args, version}; ` +
          `create targeted promises with resonate.rpc() or "resonate invoke".`,
        promise.id,
      );
    }
    return { func: p.func, args: p.args ?? [], version: typeof p.version === "number" ? p.version : 0, retry: p.retry };
  }

  private async reject(ref: TaskRef, promise: PromiseRecord, error: Error): Promise<PromiseRecord | undefined> {
    const { deps } = this.o;
    deps.logger.error({ promise: promise.id }, error.message);
    const res = await deps.send({
      kind: "task.fulfill",
      data: {
        ...ref,
        action: { kind: "promise.settle", data: { id: promise.id, state: "rejected", value: deps.codec.encode(error, "the error") } },
      },
    });
    if (res.status !== 200) return undefined;
    this.o.onSettled(res.data.promise);
    return res.data.promise;
  }

  private async release(ref: TaskRef): Promise<void> {
    try {
      await this.o.deps.send({ kind: "task.release", data: ref });
    } catch (err) {
      this.o.deps.logger.warn({ task: ref, err }, "release failed; the task returns when its lease ends");
    }
  }
}
