// The runner: performs what the replay core (core/machine.ts) decides. It
// sends the requests, keeps the timers, runs user functions inside their
// Execution, settles the JS promises of children, and tells the core when
// user code has gone quiet. It decides nothing; sdk/CORE.md is the contract.

import type { PromiseRecord, Response, TaskRef } from "@resonate-mesh/node/protocol";
import { ReplayCore } from "./core/machine.ts";
import type { Answer, AttemptResult, ChildSpec, Command, RootInvocation } from "./core/types.ts";
import type { ContextInfo } from "./context.ts";
import { Child, Execution, within, type CoreDeps } from "./execution.ts";
import type { Outcome } from "./outcome.ts";
import type { DurableFunction } from "./types.ts";

export type { RootInvocation } from "./core/types.ts";

/** setTimeout's longest delay; a later deadline is left to the node, which times the promise out. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Attempt {
  private readonly core: ReplayCore;
  private readonly children = new Map<number, Child>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly result: Promise<AttemptResult>;
  private finish!: (result: AttemptResult) => void;
  private flushScheduled = false;
  private checkScheduled = false;
  private done = false;

  constructor(
    readonly deps: CoreDeps,
    readonly task: TaskRef,
    readonly root: PromiseRecord,
    preload: PromiseRecord[],
    invocation: RootInvocation,
  ) {
    this.core = new ReplayCore({
      task,
      root,
      preload,
      invocation,
      codec: deps.codec,
      now: () => deps.clock.now(),
      timerTarget: deps.timerTarget,
    });
    this.result = new Promise((resolve) => (this.finish = resolve));
  }

  /** Run until the root settles, the attempt suspends, or it is lost. */
  execute(): Promise<AttemptResult> {
    this.core.start();
    this.flush();
    return this.result;
  }

  /** Give up this attempt (the client is stopping): nothing continues. */
  abandon(reason: string): void {
    this.core.abandon(reason);
    this.flush();
  }

  // ------------------------------------------------------------ from user code (via Context)

  start(parent: Execution, spec: ChildSpec): Child {
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
        for (const r of c.requests) this.send(r.req, r.request);
        return;
      case "settle":
      case "read":
      case "suspend":
      case "fulfill":
        return this.send(c.req, c.request);
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

  private answer(req: number, answer: Answer): void {
    if (this.done) return;
    this.core.answered(req, answer);
    this.flush();
  }

  private run(handle: number, id: string, fn: DurableFunction, args: unknown[], info: ContextInfo): void {
    const exec = new Execution(this, handle, id, info);
    // Awaited inside the function's own context, so a function that returns a call
    // without awaiting it (`(ctx) => ctx.run(step)`) is still the one waiting on it.
    within(exec, async () => await fn(exec.ctx, ...args)).then(
      (value) => this.returned(handle, { ok: true, value }),
      (error: unknown) => this.returned(handle, { ok: false, error }),
    );
  }

  private returned(handle: number, outcome: Outcome): void {
    if (this.done) return;
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
      if (this.done) return;
      this.core.blocked();
      const commands = this.core.take();
      if (commands.length === 0) return;
      for (const command of commands) this.perform(command);
      this.flush();
    });
  }

  private end(result: AttemptResult): void {
    if (this.done) return;
    this.done = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (result.kind === "failed") {
      this.deps.logger.warn({ promise: this.root.id, err: result.error }, "execution failed unexpectedly; releasing the task");
    }
    this.finish(result);
  }
}
