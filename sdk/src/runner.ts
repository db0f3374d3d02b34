// The runner: performs what the replay core (core/machine.ts) decides. It
// sends the requests, keeps the timers, runs user functions inside their
// Execution, settles the JS promises of children, and tells the core when
// user code has gone quiet. It decides nothing; sdk/CORE.md is the contract.

import type { PromiseRecord, Response, TaskRef } from "@resonate-mesh/node/protocol";
import { ReplayCore } from "./core/machine.ts";
import type { Answer, AttemptResult, ChildSpec, Command, CoreResult, Outgoing, RootInvocation } from "./core/types.ts";
import type { ContextInfo } from "./context.ts";
import { Child, Execution, within, type CoreDeps } from "./execution.ts";
import type { Outcome } from "./outcome.ts";
import { fenceBatch, MAX_FENCE_BATCH } from "./transport/types.ts";
import type { DurableFunction } from "./types.ts";
import { continuedFrom, runWithin, startCallSpan, tracingActive, withTraceHeaders, type CallSpan } from "./tracing.ts";
import type { Context as TraceContext } from "@opentelemetry/api";

export type { RootInvocation } from "./core/types.ts";

/** setTimeout's longest delay; a later deadline is left to the node, which times the promise out. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Attempt {
  private readonly core: ReplayCore;
  private readonly children = new Map<number, Child>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly result: Promise<AttemptResult>;
  private finish!: (result: AttemptResult) => void;
  /** Fenced writes decided in a row, not sent yet: they travel as one task.fence_batch. */
  private fences: Outgoing<"task.fence">[] = [];
  /** Speculating (CORE.md rule 11): fenced writes sent and not answered yet; while any is, nothing else leaves. */
  private readonly writesInFlight = new Set<number>();
  /** Requests decided while writes were in flight, sent once they are answered. */
  private waiting: (Outgoing<"promise.get"> | Outgoing<"task.suspend"> | Outgoing<"task.fulfill">)[] = [];
  /** Speculating: local functions that returned this turn, reported to the core once user code went quiet. */
  private returns: [number, Outcome][] = [];
  /** The attempt that replays this one after its speculation failed (CORE.md rule 11). */
  private successor: Attempt | undefined;
  private flushScheduled = false;
  private checkScheduled = false;
  private done = false;
  /** Traces on: the context the root continues (from its promise's headers), and each local child's caller's. */
  private readonly rootTrace: TraceContext | undefined;
  private readonly traceParents = new Map<string, TraceContext>();
  /** Spans of calls still running: an attempt that suspends ends them (its functions never return). */
  private readonly openSpans = new Set<CallSpan>();

  constructor(
    readonly deps: CoreDeps,
    readonly task: TaskRef,
    readonly root: PromiseRecord,
    preload: PromiseRecord[],
    private readonly invocation: RootInvocation,
    /** Off in the replay after a failed speculation, so that one makes progress the plain way. */
    private readonly speculative = true,
  ) {
    this.core = new ReplayCore({
      task,
      root,
      preload,
      invocation,
      codec: deps.codec,
      now: () => deps.clock.now(),
      timerTarget: deps.timerTarget,
      speculate: speculative,
    });
    this.result = new Promise((resolve) => (this.finish = resolve));
    this.rootTrace = continuedFrom(root.param.headers);
  }

  /** Run until the root settles, the attempt suspends, or it is lost. */
  execute(): Promise<AttemptResult> {
    runWithin(this.rootTrace, () => {
      this.core.start();
      this.flush();
    });
    return this.result;
  }

  /** Give up this attempt (the client is stopping): nothing continues. */
  abandon(reason: string): void {
    if (this.successor !== undefined) return this.successor.abandon(reason);
    this.core.abandon(reason);
    this.flush();
  }

  // ------------------------------------------------------------ from user code (via Context)

  start(parent: Execution, spec: ChildSpec): Child {
    // Called from the parent's code, so the current trace context is the parent call's span.
    if (tracingActive()) spec = withTraceHeaders(spec, this.traceParents);
    const handle = this.core.call(parent.handle, spec);
    const child = new Child(handle, spec.id);
    this.children.set(handle, child);
    this.schedule();
    return child;
  }

  /** `exec` waits on `child` until it settles; returns the child's promise. */
  await(child: Child, exec: Execution): Promise<unknown> {
    child.consumed = true;
    if (exec.attempt === this) {
      this.core.await(exec.handle, child.handle);
      this.schedule();
    }
    return child.promise;
  }

  isRunning(exec: Execution): boolean {
    return this.core.isRunning(exec.handle);
  }

  nextId(exec: Execution): string {
    return this.core.nextId(exec.handle);
  }

  // ------------------------------------------------------------ performing commands

  /** Take the core's commands after the current microtasks, so calls made together travel together. */
  private schedule(): void {
    if (this.flushScheduled || this.done) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    for (;;) {
      const commands = this.core.take();
      if (commands.length === 0) break;
      for (const command of commands) this.perform(command);
    }
    this.poke();
  }

  private perform(c: Command): void {
    switch (c.kind) {
      case "create":
        this.fences.push(...c.requests);
        return;
      case "settle":
        this.fences.push(c);
        return;
      case "read":
      case "suspend":
        return this.request(c);
      case "fulfill":
        return this.fulfill(c);
      case "run":
        return this.run(c.exec, c.id, c.fn, c.args, c.info);
      case "created":
        return this.children.get(c.child)?.created.resolve();
      case "resolve": {
        // Its last command: the user holds the Child from here on.
        const child = this.children.get(c.child);
        this.children.delete(c.child);
        return child?.resolve(c.outcome, c.durable);
      }
      case "timer":
        return this.setTimer(c.key, c.at, c.unref);
      case "cancelTimer":
        clearTimeout(this.timers.get(c.key));
        this.timers.delete(c.key);
        return;
      case "nonDeterministic":
        this.deps.logger.error({ promise: this.root.id, child: c.id }, c.error.message);
        return;
      case "done":
        return this.end(c.result);
    }
  }

  /** A read or suspend: after the writes decided before it (held while speculative writes are in flight). */
  private request(c: Outgoing<"promise.get"> | Outgoing<"task.suspend">): void {
    if (this.holding()) return void this.waiting.push(c);
    this.sendFences();
    this.send(c.req, c.request);
  }

  /**
   * Settle the root. Speculating, the writes not sent yet travel in it as its
   * `actions` (one round trip, one commit), once the writes already sent are
   * answered: the core sees each write answered as its own task.fence.
   */
  private fulfill(c: Outgoing<"task.fulfill">): void {
    if (!this.speculative) {
      this.sendFences();
      return this.send(c.req, c.request);
    }
    if (this.holding() || this.fences.length > MAX_FENCE_BATCH) {
      this.sendFences();
      return void this.waiting.push(c);
    }
    const writes = this.fences;
    this.fences = [];
    if (writes.length === 0) return this.send(c.req, c.request);
    for (const w of writes) this.writesInFlight.add(w.req);
    const request = { ...c.request, data: { ...c.request.data, actions: writes.map((w) => w.request.data.action) } };
    let sent: Promise<Response<"task.fulfill">>;
    try {
      sent = this.deps.send(request);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (res) => {
        // A malformed write refuses it all: the writes alone, then the fulfill without them.
        if (res.status === 400) return this.resendAlone(writes, () => this.send(c.req, c.request));
        if (!("data" in res)) {
          for (const w of writes) this.answer(w.req, { response: { kind: "task.fence", status: res.status, error: res.error } });
        } else if (res.data.actions?.length !== writes.length) {
          const error = new Error(`task.fulfill answered ${res.data.actions?.length ?? 0} writes of ${writes.length}`);
          for (const w of writes) this.answer(w.req, { error });
          return this.answer(c.req, { error });
        } else {
          res.data.actions.forEach((action, i) =>
            this.answer(writes[i]!.req, { response: { kind: "task.fence", status: 200, data: { action, preload: [] } } }),
          );
        }
        this.answer(c.req, { response: res });
      },
      (error: unknown) => {
        for (const w of writes) this.answer(w.req, { error });
        this.answer(c.req, { error });
      },
    );
  }

  /** Speculating, a write is in flight: what follows waits for its answer (a refusal must stop it). */
  private holding(): boolean {
    return this.speculative && this.writesInFlight.size > 0;
  }

  /** The last write in flight was answered: send what waited, in order. */
  private drained(): void {
    const waiting = this.waiting;
    this.waiting = [];
    const last = waiting.at(-1);
    const fulfill = last?.request.kind === "task.fulfill" ? (waiting.pop() as Outgoing<"task.fulfill">) : undefined;
    if (waiting.length > 0) this.sendFences();
    for (const w of waiting) this.send(w.req, w.request);
    if (fulfill !== undefined) this.fulfill(fulfill);
  }

  private send(req: number, request: Parameters<CoreDeps["send"]>[0]): void {
    let sent: Promise<Response>;
    try {
      sent = this.deps.send(request);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (response) => this.answer(req, { response }),
      (error: unknown) => this.answer(req, { error }),
    );
  }

  /** The fenced writes decided since the last send: one alone as task.fence, more as task.fence_batch. */
  private sendFences(): void {
    if (this.holding() || this.fences.length === 0) return;
    const writes = this.fences;
    this.fences = [];
    if (this.speculative) for (const w of writes) this.writesInFlight.add(w.req);
    for (let i = 0; i < writes.length; i += MAX_FENCE_BATCH) {
      const chunk = writes.slice(i, i + MAX_FENCE_BATCH);
      if (chunk.length === 1) this.send(chunk[0]!.req, chunk[0]!.request);
      else this.sendBatch(chunk);
    }
  }

  /**
   * One task.fence_batch whose answers go back to the core as the answers of
   * the separate task.fence calls would, in order: a write's own answer in its
   * slot; the fence's refusal or a transport failure for every write.
   */
  private sendBatch(writes: Outgoing<"task.fence">[]): void {
    let sent: Promise<Response<"task.fence_batch">>;
    try {
      sent = fenceBatch(this.deps, this.task, writes.map((w) => w.request.data.action));
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (res) => {
        // One malformed write refuses the whole batch; sent alone, only that one is refused.
        if (res.status === 400) return this.resendAlone(writes);
        if (!("data" in res)) {
          for (const w of writes) this.answer(w.req, { response: { kind: "task.fence", status: res.status, error: res.error } });
          return;
        }
        if (res.data.actions.length !== writes.length) {
          const error = new Error(`task.fence_batch answered ${res.data.actions.length} writes of ${writes.length}`);
          for (const w of writes) this.answer(w.req, { error });
          return;
        }
        res.data.actions.forEach((action, i) =>
          this.answer(writes[i]!.req, { response: { kind: "task.fence", status: res.status, data: { action, preload: [] } } }),
        );
      },
      (error: unknown) => {
        for (const w of writes) this.answer(w.req, { error });
      },
    );
  }

  /**
   * The writes of a call refused as malformed (400), sent again as task.fence
   * calls, so only the bad one is refused; then `after`. Speculating, one at a
   * time, each after the answer to the one before: a refused write makes the
   * core replay, and the writes after it (which may rest on its value) are
   * never sent.
   */
  private resendAlone(writes: Outgoing<"task.fence">[], after?: () => void): void {
    if (!this.speculative) {
      for (const w of writes) this.send(w.req, w.request);
      return after?.();
    }
    const next = (i: number): void => {
      if (this.done) return;
      if (i === writes.length) return after?.();
      const w = writes[i]!;
      let sent: Promise<Response>;
      try {
        sent = this.deps.send(w.request);
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(
        (response) => (this.answer(w.req, { response }), next(i + 1)),
        (error: unknown) => (this.answer(w.req, { error }), next(i + 1)),
      );
    };
    next(0);
  }

  private answer(req: number, answer: Answer): void {
    if (this.done) return;
    const write = this.writesInFlight.delete(req);
    this.core.answered(req, answer);
    this.flush();
    if (write && this.writesInFlight.size === 0 && !this.done) this.drained();
  }

  private run(handle: number, id: string, fn: DurableFunction, args: unknown[], info: ContextInfo): void {
    const exec = new Execution(this, handle, id, info);
    const isRoot = id === this.root.id;
    const span = tracingActive()
      ? startCallSpan(
          isRoot ? `execute ${info.funcName}` : `run ${info.funcName}`,
          { "resonate.id": id, "resonate.function": info.funcName, "resonate.attempt": info.attempt, ...(isRoot ? { "resonate.task.version": this.task.version } : {}) },
          (isRoot ? this.rootTrace : this.traceParents.get(id)) ?? this.rootTrace,
        )
      : undefined;
    if (span !== undefined) this.openSpans.add(span);
    // Awaited inside the function's own context, so a function that returns a call
    // without awaiting it (`(ctx) => ctx.run(step)`) is still the one waiting on it.
    runWithin(span?.context, () => within(exec, async () => await fn(exec.ctx, ...args))).then(
      (value) => {
        if (span !== undefined && this.openSpans.delete(span)) span.end();
        this.returned(handle, { ok: true, value }, isRoot);
      },
      (error: unknown) => {
        if (span !== undefined && this.openSpans.delete(span)) span.end(error);
        this.returned(handle, { ok: false, error }, isRoot);
      },
    );
  }

  private returned(handle: number, outcome: Outcome, isRoot: boolean): void {
    if (this.done) return;
    if (this.speculative && !isRoot) {
      // Reported at the quiet point, so every step user code starts in this turn starts before
      // one that finished in it can hold the next ones back (rule 11's gate): a fan-out is not
      // split by the order of microtasks.
      this.returns.push([handle, outcome]);
      return this.poke();
    }
    this.core.returned(handle, outcome);
    this.flush();
  }

  private setTimer(key: string, at: number, unref: boolean): void {
    const delay = Math.max(0, at - this.deps.clock.now());
    if (delay > MAX_TIMER_MS) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (this.done) return;
      this.core.timerFired(key);
      this.flush();
    }, delay);
    if (unref) timer.unref();
    this.timers.set(key, timer);
  }

  /** After user code has had its turn (every microtask ran), ask the core whether it is blocked. */
  private poke(): void {
    if (this.checkScheduled || this.done) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      if (this.returns.length > 0 && !this.done) {
        // What ran on these values runs first; their writes leave at the next quiet point.
        const returns = this.returns;
        this.returns = [];
        for (const [handle, outcome] of returns) this.core.returned(handle, outcome);
        return this.flush();
      }
      // The fenced writes wait until here, so steps finishing in different turns of user code travel together.
      this.sendFences();
      if (this.done) return;
      this.core.blocked();
      const commands = this.core.take();
      if (commands.length === 0) return;
      for (const command of commands) this.perform(command);
      this.flush();
    });
  }

  private end(result: CoreResult): void {
    if (this.done) return;
    // Speculating, writes not sent may rest on values never made durable: they are dropped.
    if (this.speculative) this.fences = [];
    else this.sendFences();
    this.done = true;
    for (const span of this.openSpans) span.end(undefined, { "resonate.attempt.outcome": result.kind });
    this.openSpans.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (result.kind === "failed") {
      this.deps.logger.warn({ promise: this.root.id, err: result.error }, "execution failed unexpectedly; releasing the task");
    }
    if (result.kind === "replay") {
      // Still held at this version: run again from what is durable, this time not speculating.
      this.deps.logger.info({ promise: this.root.id, reason: result.reason }, "speculative progress dropped; replaying");
      this.successor = new Attempt(this.deps, this.task, this.root, result.records, this.invocation, false);
      void this.successor.execute().then((r) => this.finish(r));
      return;
    }
    this.finish(result);
  }
}
