// The replay engine: one Attempt is one run of a task at one version.
//
// Memoized re-execution: each attempt runs the function from the start. Child
// ids are derived in call order; a child whose promise is already settled (in
// the acquire's preload, or learnt from a fenced create) returns its recorded
// outcome without running. A local child that has no record runs here and is
// recorded with ONE fenced create of an already-settled promise. A remote
// child (rpc, sleep, latent promise) is a fenced create; awaiting it while it
// is pending leaves the JS promise pending. When every running function is
// waiting on durable children and no request is in flight, nothing local can
// make progress: the attempt sends `task.suspend` with a callback on every
// awaited pending child. 300 continues this attempt with what settled; 200
// drops it, and its pending JS promises are never resumed (no exception ever
// travels through user code, so a try/catch cannot swallow a suspension).

import type {
  Kind,
  PromiseCreateRequest,
  PromiseRecord,
  PromiseSettleRequest,
  RequestOf,
  Response,
  TaskRef,
  Value,
} from "@resonate-mesh/node/protocol";
import { Tag } from "@resonate-mesh/node/protocol";
import { isDescendantOrSelf } from "@resonate-mesh/node/protocol";
import type { ContextInfo } from "./context.ts";
import { Child, Execution, within, type AttemptResult, type ChildSpec, type CoreDeps } from "./execution.ts";
import { nonDeterministic, PromiseTimedOutError, ResonateError, ServerError } from "./errors.ts";
import { defaultRetryPolicy, type RetryPolicy, withRetries } from "./options/retry.ts";
import { childTags, paramOf } from "./children.ts";
import { deferred, outcomeOf, settlementOf, type Outcome } from "./outcome.ts";
import type { DurableFunction } from "./types.ts";
import { describeCall, sameCall } from "./calls.ts";

const DAY = 24 * 60 * 60 * 1000;

/** Stand-in result when the attempt was dropped: nothing may continue. */
const DROPPED = Symbol("dropped");
type Dropped = typeof DROPPED;

export interface RootInvocation {
  fn: DurableFunction;
  name: string;
  version: number;
  args: unknown[];
  retry: RetryPolicy;
}

export class Attempt {
  readonly cache = new Map<string, PromiseRecord>();
  private readonly executions = new Set<Execution>();
  private readonly result = deferred<AttemptResult>();
  private inFlight = 0;
  private checkScheduled = false;
  private suspending = false;
  private finished = false;
  /** Once set, nothing of this attempt continues: its pending promises are abandoned. */
  dropped = false;
  private poison?: ResonateError;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly deps: CoreDeps,
    readonly task: TaskRef,
    readonly root: PromiseRecord,
    preload: PromiseRecord[],
    private readonly invocation: RootInvocation,
  ) {
    this.merge(preload);
  }

  get originId(): string {
    return this.root.tags[Tag.origin] ?? this.root.id;
  }

  get branchId(): string {
    return this.root.tags[Tag.branch] ?? this.root.id;
  }

  /** Run until the root settles, the attempt suspends, or it is lost. */
  execute(): Promise<AttemptResult> {
    const { fn, args, retry, name, version } = this.invocation;
    const info = (attempt: number): ContextInfo => ({
      parentId: this.root.tags[Tag.parent] ?? this.root.id,
      originId: this.originId,
      branchId: this.branchId,
      funcName: name,
      timeoutAt: this.root.timeoutAt,
      attempt,
      version,
      tags: { ...this.root.tags },
    });
    void this.runFunction(this.root.id, fn, args, info, retry, this.root.timeoutAt).then(async (outcome) => {
      if (outcome === DROPPED || this.dropped) return;
      const final: Outcome = this.poison ? { ok: false, error: this.poison } : outcome;
      const record = await this.fulfill(final);
      if (record !== DROPPED) this.finish({ kind: "completed", promise: record });
    }).catch((error: unknown) => this.fail(error));
    return this.result.promise;
  }

  /** Give up this attempt (the client is stopping): nothing continues. */
  abandon(reason: string): void {
    this.lose(reason);
  }

  // ------------------------------------------------------------ children

  start(parent: Execution, spec: ChildSpec): Child {
    const remote = spec.kind !== "run";
    const child = new Child(spec.id, remote, spec.kind === "detached", this);
    parent.children.push(child);
    if (this.dropped) return child;
    let param: Value;
    try {
      param = paramOf(spec, this.deps.codec);
    } catch (error) {
      child.fail(error);
      return child;
    }
    const recorded = this.cache.get(spec.id);
    if (recorded !== undefined) {
      const mismatch = this.compare(spec, param, recorded);
      if (mismatch !== undefined) {
        child.fail(mismatch);
        return child;
      }
      if (recorded.state !== "pending") {
        child.settle(outcomeOf(recorded, this.deps.codec));
        return child;
      }
    }
    if (spec.kind === "run") {
      child.state = "running";
      child.created.resolve();
      void this.lookupOutsideBranch(spec.id, recorded)
        .then((found) => {
          if (found === DROPPED) return;
          if (found !== undefined && found.state !== "pending") {
            const mismatch = this.compare(spec, param, found);
            child.settle(mismatch !== undefined ? { ok: false, error: mismatch } : outcomeOf(found, this.deps.codec));
            return;
          }
          return this.runLocal(parent, child, spec, param, found);
        })
        .catch((error: unknown) => this.fail(error));
    } else if (recorded !== undefined) {
      child.state = "pending";
      child.created.resolve();
    } else {
      void this.createRemote(parent, child, spec, param).catch((error: unknown) => this.fail(error));
    }
    return child;
  }

  /**
   * The preload holds the branch's promises by id prefix, so a local child
   * with an explicit id outside the branch is looked up before it runs.
   */
  private async lookupOutsideBranch(id: string, recorded: PromiseRecord | undefined): Promise<PromiseRecord | undefined | Dropped> {
    if (recorded !== undefined || isDescendantOrSelf(id, this.branchId)) return recorded;
    const res = await this.call({ kind: "promise.get", data: { id } });
    if (res === DROPPED) return DROPPED;
    if (res.status !== 200) return undefined;
    this.merge([res.data.promise]);
    return res.data.promise;
  }

  /** `exec` waits on `child` until it settles; returns the child's promise. */
  await(child: Child, exec: Execution): Promise<unknown> {
    child.consumed = true;
    if (child.state !== "settled" && exec.running && exec.attempt === this) {
      exec.awaiting.add(child);
      child.awaiters.add(exec);
      this.poke();
    }
    return child.promise;
  }

  /** A replayed call must be the call that was recorded. */
  private compare(spec: ChildSpec, param: Value, recorded: PromiseRecord): ResonateError | undefined {
    const same = sameCall(spec, param, recorded, this.deps.codec);
    if (same) return undefined;
    const error = nonDeterministic(
      spec.id,
      describeCall(recorded, this.deps.codec),
      describeCall({ id: spec.id, param, tags: this.tagsOf(spec) }, this.deps.codec),
    );
    this.poisonWith(error);
    return error;
  }

  private poisonWith(error: ResonateError): void {
    if (this.poison !== undefined) return;
    this.poison = error;
    this.deps.logger.error({ promise: this.root.id, child: error.promiseId }, error.message);
  }

  private timeoutOf(parent: Execution, relative: number | undefined): number {
    const parentTimeout = parent.info.timeoutAt;
    return relative === undefined ? parentTimeout : Math.min(this.deps.clock.now() + relative, parentTimeout);
  }

  private tagsOf(spec: ChildSpec, parent?: Execution): Record<string, string> {
    return childTags(spec, {
      originId: this.originId,
      branchId: this.branchId,
      parentId: parent?.id ?? this.root.id,
      timerTarget: this.deps.timerTarget,
    });
  }

  private async createRemote(parent: Execution, child: Child, spec: Exclude<ChildSpec, { kind: "run" }>, param: Value) {
    const now = this.deps.clock.now();
    let timeoutAt: number;
    switch (spec.kind) {
      case "sleep":
        timeoutAt = Math.min(now + spec.ms, parent.info.timeoutAt);
        break;
      case "detached":
        timeoutAt = now + (spec.timeout ?? DAY);
        break;
      default:
        timeoutAt = this.timeoutOf(parent, spec.timeout ?? DAY);
    }
    const record = await this.fence(child.id, {
      kind: "promise.create",
      data: { id: spec.id, timeoutAt, param, tags: this.tagsOf(spec, parent) },
    });
    if (record === DROPPED) return;
    if (record instanceof Error) {
      child.fail(record);
      return;
    }
    const mismatch = this.compare(spec, param, record);
    if (mismatch !== undefined) {
      child.fail(mismatch);
      return;
    }
    if (record.state === "pending") {
      child.state = "pending";
      child.created.resolve();
      this.poke();
    } else {
      child.settle(outcomeOf(record, this.deps.codec));
    }
  }

  private async runLocal(
    parent: Execution,
    child: Child,
    spec: Extract<ChildSpec, { kind: "run" }>,
    param: Value,
    recorded: PromiseRecord | undefined,
  ): Promise<void> {
    const timeoutAt = this.timeoutOf(parent, spec.timeout);
    const tags = this.tagsOf(spec, parent);
    const info = (attempt: number): ContextInfo => ({
      parentId: parent.id,
      originId: this.originId,
      branchId: this.branchId,
      funcName: spec.name,
      timeoutAt,
      attempt,
      version: spec.version,
      // Each try sees its own copy: what the function does to it cannot reach the recorded tags.
      tags: { ...tags },
    });
    const outcome = await this.runFunction(spec.id, spec.fn, spec.args, info, spec.retry ?? defaultRetryPolicy, timeoutAt);
    if (outcome === DROPPED || this.dropped) return;
    const { state, value } = settlementOf(outcome, spec.id, this.deps.codec);
    const action: PromiseCreateRequest | PromiseSettleRequest =
      recorded === undefined
        ? {
            kind: "promise.create",
            data: { id: spec.id, timeoutAt, param, tags, settled: { state, value } },
          }
        : { kind: "promise.settle", data: { id: spec.id, state, value } };
    const record = await this.fence(spec.id, action);
    if (record === DROPPED) return;
    if (record instanceof Error) {
      child.fail(record);
      return;
    }
    child.settle(outcomeOf(record, this.deps.codec));
  }

  /**
   * Run a function (root or local child) with its retries, inside its own
   * Execution per try, bounded by `timeoutAt`. Spawned children are joined
   * before a try ends, so a retry never races the previous try's children.
   */
  private async runFunction(
    id: string,
    fn: DurableFunction,
    args: unknown[],
    info: (attempt: number) => ContextInfo,
    policy: RetryPolicy,
    timeoutAt: number,
  ): Promise<Outcome | Dropped> {
    const clock = this.deps.clock;
    const remaining = timeoutAt - clock.now();
    // Past its deadline already (a replay after the timeout): it does not run at all.
    if (remaining <= 0) return { ok: false, error: new PromiseTimedOutError(id, timeoutAt) };
    let live: Execution | undefined;
    const tries = withRetries(
      policy,
      timeoutAt,
      () => clock.now(),
      (ms) => this.wait(ms),
      async (n) => {
        if (this.dropped) return DROPPED;
        const exec = new Execution(this, id, info(n));
        live = exec;
        return { ok: true as const, value: await this.invoke(exec, fn, args) };
      },
      (error) => !this.dropped && this.poison === undefined && retryable(error),
    ).catch((error: unknown): Outcome => ({ ok: false, error }));

    if (remaining >= 2 ** 31 - 1) return tries;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => {
        // Abandon the running try: it can no longer change the outcome.
        if (live !== undefined) this.retire(live);
        resolve({ ok: false, error: new PromiseTimedOutError(id, timeoutAt) });
      }, remaining);
      timer.unref();
      this.timers.add(timer);
    });
    try {
      return await Promise.race([tries, timedOut]);
    } finally {
      clearTimeout(timer);
      this.timers.delete(timer!);
    }
  }

  private async invoke(exec: Execution, fn: DurableFunction, args: unknown[]): Promise<unknown> {
    this.executions.add(exec);
    try {
      let value: unknown;
      try {
        // Awaited inside the function's own context, so a function that returns a call
        // without awaiting it (`(ctx) => ctx.run(step)`) is still the one waiting on it.
        value = await within(exec, async () => await fn(exec.ctx, ...args));
      } catch (error) {
        await this.join(exec);
        throw error;
      }
      const failure = await this.join(exec);
      if (failure !== undefined) throw failure.error;
      return value;
    } finally {
      this.retire(exec);
    }
  }

  /**
   * Structured concurrency: before a function ends, wait for what it spawned
   * and never awaited, and for its local children still running (so a retry
   * never races the previous try's steps). A remote child it awaited and then
   * abandoned (the loser of a race) is not waited for. Returns the first
   * failure nobody observed.
   */
  private async join(exec: Execution): Promise<{ error: unknown } | undefined> {
    const open = exec.children.filter((c) => !c.detached && c.state !== "settled" && (!c.remote || !c.consumed));
    const unobserved = exec.children.filter((c) => !c.detached && !c.consumed);
    if (open.length > 0) await Promise.allSettled(open.map((c) => this.await(c, exec)));
    for (const c of unobserved) {
      const failed = await c.promise.then(
        () => undefined,
        (error: unknown) => ({ error }),
      );
      if (failed !== undefined) return failed;
    }
    return undefined;
  }

  private retire(exec: Execution): void {
    exec.running = false;
    for (const c of exec.awaiting) c.awaiters.delete(exec);
    exec.awaiting.clear();
    this.executions.delete(exec);
    this.poke();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.dropped) resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  // ------------------------------------------------------------ the node

  private merge(records: PromiseRecord[] | undefined): void {
    for (const r of records ?? []) {
      const known = this.cache.get(r.id);
      if (known === undefined || known.state === "pending") this.cache.set(r.id, r);
    }
  }

  /** One fenced create or settle at this attempt's version. */
  private async fence(
    id: string,
    action: PromiseCreateRequest | PromiseSettleRequest,
  ): Promise<PromiseRecord | Error | Dropped> {
    const res = await this.call({
      kind: "task.fence",
      data: { id: this.task.id, version: this.task.version, action },
    });
    if (res === DROPPED) return DROPPED;
    if (res.status !== 200) return this.refused(res, id);
    this.merge(res.data.preload);
    const inner = res.data.action;
    if ("error" in inner) return new ServerError(inner.kind, inner.error, id);
    const record = inner.data.promise;
    this.cache.set(record.id, record);
    return record;
  }

  private async fulfill(outcome: Outcome): Promise<PromiseRecord | Dropped> {
    const res = await this.call({
      kind: "task.fulfill",
      data: {
        id: this.task.id,
        version: this.task.version,
        action: {
          kind: "promise.settle",
          data: { id: this.root.id, ...settlementOf(outcome, this.root.id, this.deps.codec) },
        },
      },
    });
    if (res === DROPPED) return DROPPED;
    if (res.status !== 200) {
      const refused = this.refused(res, this.root.id);
      if (refused === DROPPED) return DROPPED;
      throw refused;
    }
    return res.data.promise;
  }

  /** A refusal of a holder operation: 404/409 mean the task is not ours any more. */
  private refused(res: Response, id: string): Error | Dropped {
    const error = "error" in res ? res.error : { status: 500 as const, code: "INTERNAL" as const, message: `unexpected status ${res.status}` };
    if (res.status === 409 || error.code === "TASK_NOT_FOUND") {
      this.lose(`${res.kind} answered ${res.status}: ${error.message}`);
      return DROPPED;
    }
    return new ServerError(res.kind, error, id);
  }

  /** Send, counting the request as in flight so the attempt does not suspend meanwhile. */
  private async call<K extends Kind>(request: RequestOf<K>): Promise<Response<K> | Dropped> {
    if (this.dropped) return DROPPED;
    this.inFlight++;
    try {
      const res = await this.deps.send(request);
      return this.dropped ? DROPPED : res;
    } finally {
      this.inFlight--;
      this.poke();
    }
  }

  // ------------------------------------------------------------ suspension

  /** Something changed: look again, once the microtasks it caused have run. */
  poke(): void {
    if (this.checkScheduled || this.dropped || this.finished) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      this.check();
    });
  }

  private check(): void {
    if (this.dropped || this.finished || this.suspending || this.inFlight > 0) return;
    if (this.executions.size === 0) return;
    const awaited = new Map<string, Child>();
    for (const exec of this.executions) {
      if (exec.awaiting.size === 0) return; // still running user code
      for (const child of exec.awaiting) if (child.remote && child.state === "pending") awaited.set(child.id, child);
    }
    if (awaited.size === 0) return; // waiting on local children that are about to settle
    void this.suspend([...awaited.values()]).catch((error: unknown) => this.fail(error));
  }

  private async suspend(awaited: Child[]): Promise<void> {
    this.suspending = true;
    let res;
    try {
      res = await this.deps.send({
        kind: "task.suspend",
        data: {
          id: this.task.id,
          version: this.task.version,
          actions: awaited.map((c) => ({
            kind: "promise.register_callback" as const,
            data: { awaited: c.id, awaiter: this.root.id },
          })),
        },
      });
    } finally {
      this.suspending = false;
    }
    if (this.dropped) return;
    if (res.status === 200) {
      this.drop();
      this.finish({ kind: "suspended" });
      return;
    }
    if (res.status !== 300) {
      const refused = this.refused(res, this.root.id);
      if (refused !== DROPPED) this.fail(refused);
      return;
    }
    // Redirect: something awaited settled meanwhile; continue this attempt with it.
    this.merge(res.data.preload);
    const unknown = awaited.filter((c) => (this.cache.get(c.id)?.state ?? "pending") === "pending");
    await Promise.all(
      unknown.map(async (c) => {
        const got = await this.call({ kind: "promise.get", data: { id: c.id } });
        if (got !== DROPPED && got.status === 200) this.merge([got.data.promise]);
      }),
    );
    for (const c of awaited) {
      const record = this.cache.get(c.id);
      if (record !== undefined && record.state !== "pending") c.settle(outcomeOf(record, this.deps.codec));
    }
    this.poke();
  }

  // ------------------------------------------------------------ endings

  /** Stop everything of this attempt; its pending JS promises are never settled. */
  private drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const exec of this.executions) exec.running = false;
    this.executions.clear();
  }

  private lose(reason: string): void {
    if (this.finished) return;
    this.drop();
    this.finish({ kind: "lost", reason });
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.deps.logger.warn({ promise: this.root.id, err: error }, "execution failed unexpectedly; releasing the task");
    this.drop();
    this.finish({ kind: "failed", error });
  }

  private finish(result: AttemptResult): void {
    if (this.finished) return;
    this.finished = true;
    this.result.resolve(result);
  }
}

/** Errors that retrying cannot fix. */
function retryable(error: unknown): boolean {
  if (error instanceof ResonateError) {
    return !["NON_DETERMINISTIC", "NOT_SERIALIZABLE", "CONTEXT_OUTSIDE_FUNCTION", "FUTURE_ALREADY_AWAITED", "PROMISE_TIMED_OUT"].includes(
      error.code,
    );
  }
  return true;
}
