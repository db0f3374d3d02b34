// The replay core: one attempt (one run of a task at one version) as a
// synchronous state machine. Events come in as method calls; commands pile up
// and are taken with `take()`. It owns every decision (ids, replay from the
// cache, what to create, retries, timeouts, when to suspend, what a 300 or a
// 409 means) and does no I/O, holds no timer and awaits nothing: the runner
// (../runner.ts) performs the commands and feeds back what happened.
// The contract, for every SDK that mirrors it, is sdk/CORE.md.

import type {
  PromiseCreateRequest,
  PromiseRecord,
  PromiseSettleRequest,
  RequestOf,
  Response,
  Value,
} from "@resonate-mesh/node/protocol";
import { isDescendantOrSelf, Tag } from "@resonate-mesh/node/protocol";
import type { ContextInfo } from "../context.ts";
import { nonDeterministic, PromiseTimedOutError, ResonateError, ServerError } from "../errors.ts";
import { childId } from "../ids.ts";
import { defaultRetryPolicy, type RetryPolicy } from "../options/retry.ts";
import { childTags, paramOf } from "../children.ts";
import { describeCall, sameCall } from "../calls.ts";
import { outcomeOf, settlementOf, type Outcome } from "../outcome.ts";
import type { DurableFunction } from "../types.ts";
import type { Answer, ChildHandle, ChildSpec, Command, CoreInit, CoreResult, ExecHandle } from "./types.ts";

const DAY = 24 * 60 * 60 * 1000;
const EMPTY: Value = { headers: {}, data: "" };

type Settlement = ReturnType<typeof settlementOf>;

/** Errors that retrying cannot fix. */
const FINAL_CODES = ["NON_DETERMINISTIC", "NOT_SERIALIZABLE", "CONTEXT_OUTSIDE_FUNCTION", "FUTURE_ALREADY_AWAITED", "PROMISE_TIMED_OUT"];

/** A durable function run in this attempt (the root or a local child), across its tries. */
interface Func {
  key: number;
  id: string;
  fn: DurableFunction;
  args: unknown[];
  name: string;
  version: number;
  policy: RetryPolicy;
  timeoutAt: number;
  parentId: string;
  tags: Record<string, string>;
  tries: number;
  live: Exec | undefined;
  done: boolean;
  onDone(outcome: Outcome): void;
}

type FuncSpec = Pick<Func, "id" | "fn" | "args" | "name" | "version" | "policy" | "timeoutAt" | "parentId" | "tags">;

/** One try of a Func. */
interface Exec {
  handle: ExecHandle;
  func: Func;
  id: string;
  info: ContextInfo;
  running: boolean;
  seq: number;
  /** Children this try waits on right now. */
  awaiting: Set<Child>;
  /** Every child it started, for structured concurrency. */
  children: Child[];
  /** Set when its function returned: it joins what it left open before the try ends. */
  join: { outcome: Outcome; open: Child[]; unobserved: Child[] } | undefined;
}

interface Child {
  handle: ChildHandle;
  id: string;
  spec: ChildSpec;
  parent: Exec;
  remote: boolean;
  detached: boolean;
  state: "starting" | "running" | "pending" | "settled";
  /** Awaited, or its failure was reported where it was started: nobody else must see it. */
  consumed: boolean;
  awaiters: Set<Exec>;
  outcome: Outcome | undefined;
}

/** What a fenced request came back as: the record, an error for the caller, or the attempt ended. */
type Fenced = PromiseRecord | Error | "lost";

export class ReplayCore {
  private readonly cache = new Map<string, PromiseRecord>();
  private readonly execs = new Map<ExecHandle, Exec>();
  private readonly children = new Map<ChildHandle, Child>();
  /** Tries whose function is running (or joining its children). */
  private readonly running = new Set<Exec>();
  private readonly joining = new Set<Exec>();
  private readonly inflight = new Map<number, (response: Response) => void>();
  private readonly timers = new Map<string, () => void>();
  private outbox: Command[] = [];
  /** How many `create` commands the outbox holds (they are merged into one on take). */
  private creates = 0;
  private counter = 0;
  private poison?: ResonateError;
  private ended = false;
  /** Speculative writes (rule 11) not acknowledged yet. */
  private unacked = 0;
  /** What waits until they are: function starts, reads, suspends. */
  private gated: (() => void)[] = [];

  constructor(private readonly init: CoreInit) {
    this.merge(init.preload);
  }

  get originId(): string {
    return this.init.root.tags[Tag.origin] ?? this.init.root.id;
  }

  get branchId(): string {
    return this.init.root.tags[Tag.branch] ?? this.init.root.id;
  }

  /** The attempt is over: every further event is ignored. */
  get isDone(): boolean {
    return this.ended;
  }

  /** The commands emitted since the last take; creates among them travel as one `create`, in order. */
  take(): Command[] {
    const out = this.outbox;
    if (out.length === 0) return [];
    this.outbox = [];
    if (this.creates <= 1) {
      this.creates = 0;
      return out;
    }
    this.creates = 0;
    const creates = out.filter((c): c is Extract<Command, { kind: "create" }> => c.kind === "create");
    const merged: Command = { kind: "create", requests: creates.flatMap((c) => c.requests) };
    const first = out.indexOf(creates[0]!);
    return out.filter((c, i) => c.kind !== "create" || i === first).map((c) => (c.kind === "create" ? merged : c));
  }

  // ================================================================ events

  /** Begin the attempt: run the root function. */
  start(): void {
    const { root, invocation } = this.init;
    this.runFunc(
      {
        id: root.id,
        fn: invocation.fn,
        args: invocation.args,
        name: invocation.name,
        version: invocation.version,
        policy: invocation.retry,
        timeoutAt: root.timeoutAt,
        parentId: root.tags[Tag.parent] ?? root.id,
        tags: root.tags,
      },
      (outcome) => this.fulfill(outcome),
    );
  }

  /** The next derived child id of `exec`: `{exec id}.{seq}`, taken when the call is made. */
  nextId(exec: ExecHandle): string {
    const e = this.exec(exec);
    return childId(e.id, e.seq++);
  }

  /** Whether `exec` may still make calls (its function runs and was not abandoned). */
  isRunning(exec: ExecHandle): boolean {
    return this.execs.get(exec)?.running === true && !this.ended;
  }

  /** `exec` starts the durable call `spec`; the handle names the child in later events and commands. */
  call(exec: ExecHandle, spec: ChildSpec): ChildHandle {
    const parent = this.exec(exec);
    const child: Child = {
      handle: ++this.counter,
      id: spec.id,
      spec,
      parent,
      remote: spec.kind !== "run",
      detached: spec.kind === "detached",
      state: "starting",
      consumed: false,
      awaiters: new Set(),
      outcome: undefined,
    };
    this.children.set(child.handle, child);
    parent.children.push(child);
    if (this.ended) return child.handle;

    let param: Value;
    try {
      param = paramOf(spec, this.init.codec);
    } catch (error) {
      this.failChild(child, error);
      return child.handle;
    }
    const recorded = this.cache.get(spec.id);
    if (recorded !== undefined) {
      const mismatch = this.compare(spec, param, recorded);
      if (mismatch !== undefined) return this.failChild(child, mismatch), child.handle;
      if (recorded.state !== "pending") return this.settleChild(child, outcomeOf(recorded, this.init.codec)), child.handle;
    }
    if (spec.kind === "run") {
      this.markCreated(child, "running");
      // The preload holds the branch by id prefix: a local child with an explicit id outside it is read first.
      if (recorded === undefined && !isDescendantOrSelf(spec.id, this.branchId)) {
        this.send("read", { kind: "promise.get", data: { id: spec.id } }, (res) => {
          if (res.status !== 200) return this.runLocal(child, param, undefined);
          const found = res.data.promise;
          this.merge([found]);
          if (found.state === "pending") return this.runLocal(child, param, found);
          const mismatch = this.compare(spec, param, found);
          this.settleChild(child, mismatch !== undefined ? { ok: false, error: mismatch } : outcomeOf(found, this.init.codec));
        });
      } else {
        this.runLocal(child, param, recorded);
      }
    } else if (recorded !== undefined) {
      this.markCreated(child, "pending");
    } else {
      this.createRemote(child, spec, param);
    }
    return child.handle;
  }

  /** `exec` waits on `child` (it awaited the call or its future). */
  await(exec: ExecHandle, child: ChildHandle): void {
    const c = this.child(child);
    c.consumed = true;
    const e = this.execs.get(exec);
    if (this.ended || c.state === "settled" || e === undefined || !e.running) return;
    e.awaiting.add(c);
    c.awaiters.add(e);
  }

  /** The function of `exec` returned (`ok`) or threw. */
  returned(exec: ExecHandle, outcome: Outcome): void {
    const e = this.execs.get(exec);
    if (this.ended || e === undefined || !e.running || e.join !== undefined) return;
    // Structured concurrency: before the try ends, wait for what it spawned and never
    // awaited and for its local children still running (a retry never races the previous
    // try's steps); a remote child it awaited and then left (a race's loser) is not waited for.
    const open = e.children.filter((c) => !c.detached && c.state !== "settled" && (!c.remote || !c.consumed));
    const unobserved = e.children.filter((c) => !c.detached && !c.consumed);
    e.join = { outcome, open, unobserved };
    for (const c of open) this.await(e.handle, c.handle);
    this.joining.add(e);
    this.tryJoin(e);
  }

  /** The node answered request `req` (or the transport gave up on it). */
  answered(req: number, answer: Answer): void {
    const k = this.inflight.get(req);
    if (k === undefined || this.ended) return;
    this.inflight.delete(req);
    if ("error" in answer) return this.fail(answer.error);
    k(answer.response);
  }

  /** The timer `key` asked for by a `timer` command is due. */
  timerFired(key: string): void {
    const k = this.timers.get(key);
    if (k === undefined || this.ended) return;
    this.timers.delete(key);
    k();
  }

  /**
   * The runner saw user code go quiet (every microtask ran). If every running
   * function waits on durable children, no request is in flight, and some of
   * what they wait on is a pending remote promise, nothing here can make
   * progress: suspend on all of those.
   */
  blocked(): void {
    if (this.ended || this.inflight.size > 0 || this.running.size === 0) return;
    const awaited = new Map<string, Child>();
    for (const e of this.running) {
      if (e.awaiting.size === 0) return; // still running user code
      for (const c of e.awaiting) if (c.remote && c.state === "pending") awaited.set(c.id, c);
    }
    if (awaited.size === 0) return; // waiting on local children that are about to settle
    this.suspend([...awaited.values()]);
  }

  /** Give up this attempt (the client is stopping). */
  abandon(reason: string): void {
    this.end({ kind: "lost", reason });
  }

  // ================================================================ functions

  private runFunc(f: FuncSpec, onDone: (outcome: Outcome) => void): void {
    // Built field by field (not spread) so every Func has one shape: this is the hot path.
    const func: Func = {
      key: ++this.counter,
      id: f.id,
      fn: f.fn,
      args: f.args,
      name: f.name,
      version: f.version,
      policy: f.policy,
      timeoutAt: f.timeoutAt,
      parentId: f.parentId,
      tags: f.tags,
      tries: 0,
      live: undefined,
      done: false,
      onDone,
    };
    // Past its deadline already (a replay after the timeout): it does not run at all.
    if (func.timeoutAt - this.init.now() <= 0) return this.finishFunc(func, this.timedOut(func));
    this.setTimer(`timeout:${func.key}`, func.timeoutAt, true, () => {
      // The running try is abandoned: it can no longer change the outcome.
      if (func.live !== undefined) this.retire(func.live);
      this.finishFunc(func, this.timedOut(func));
    });
    this.startTry(func);
  }

  private startTry(func: Func): void {
    // Rule 11: no function starts while what it could have been given is not durable.
    if (this.unacked > 0) return void this.gated.push(() => func.done || this.startTry(func));
    func.tries++;
    const info: ContextInfo = {
      parentId: func.parentId,
      originId: this.originId,
      branchId: this.branchId,
      funcName: func.name,
      timeoutAt: func.timeoutAt,
      attempt: func.tries,
      version: func.version,
      // Each try sees its own copy: what the function does to it cannot reach the recorded tags.
      tags: { ...func.tags },
    };
    const exec: Exec = {
      handle: ++this.counter,
      func,
      id: func.id,
      info,
      running: true,
      seq: 0,
      awaiting: new Set(),
      children: [],
      join: undefined,
    };
    func.live = exec;
    this.execs.set(exec.handle, exec);
    this.running.add(exec);
    this.emit({ kind: "run", exec: exec.handle, id: func.id, fn: func.fn, args: func.args, info });
  }

  private tryJoin(e: Exec): void {
    const join = e.join;
    if (join === undefined || !e.running || join.open.some((c) => c.state !== "settled")) return;
    this.joining.delete(e);
    let outcome = join.outcome;
    if (outcome.ok) {
      const failed = join.unobserved.find((c) => c.outcome !== undefined && !c.outcome.ok);
      if (failed !== undefined) outcome = failed.outcome!;
    }
    this.retire(e);
    const func = e.func;
    if (func.done) return;
    if (!outcome.ok && this.poison === undefined && retryable(outcome.error)) {
      const delay = func.policy.delay(func.tries);
      const at = this.init.now() + (delay ?? 0);
      if (delay !== null && at < func.timeoutAt) {
        this.setTimer(`retry:${func.key}`, at, false, () => this.startTry(func));
        return;
      }
    }
    this.finishFunc(func, outcome);
  }

  private finishFunc(func: Func, outcome: Outcome): void {
    if (func.done) return;
    func.done = true;
    this.cancelTimer(`timeout:${func.key}`);
    this.cancelTimer(`retry:${func.key}`);
    func.onDone(outcome);
  }

  private timedOut(func: Func): Outcome {
    return { ok: false, error: new PromiseTimedOutError(func.id, func.timeoutAt) };
  }

  /** The try can no longer call, and nobody waits on its behalf. */
  private retire(e: Exec): void {
    e.running = false;
    for (const c of e.awaiting) c.awaiters.delete(e);
    e.awaiting.clear();
    this.running.delete(e);
    this.joining.delete(e);
  }

  // ================================================================ children

  private runLocal(child: Child, param: Value, recorded: PromiseRecord | undefined): void {
    const spec = child.spec as Extract<ChildSpec, { kind: "run" }>;
    const parent = child.parent;
    const timeoutAt = this.timeoutOf(parent, spec.timeout);
    const tags = this.tagsOf(spec, parent);
    this.runFunc(
      {
        id: spec.id,
        fn: spec.fn,
        args: spec.args,
        name: spec.name,
        version: spec.version,
        policy: spec.retry ?? defaultRetryPolicy,
        timeoutAt,
        parentId: parent.id,
        tags,
      },
      (outcome) => {
        // Recorded with ONE fenced create of an already-settled promise (a settle if it was recorded pending).
        const settled = settlementOf(outcome, spec.id, this.init.codec);
        const action: PromiseCreateRequest | PromiseSettleRequest =
          recorded === undefined
            ? { kind: "promise.create", data: { id: spec.id, timeoutAt, param, tags, settled } }
            : { kind: "promise.settle", data: { id: spec.id, ...settled } };
        if (this.init.speculate === true) return this.speculate(child, action, settled);
        this.fence(spec.id, action, (record) => {
          if (record === "lost") return;
          if (record instanceof Error) return this.failChild(child, record);
          this.settleChild(child, outcomeOf(record, this.init.codec));
        });
      },
    );
  }

  /**
   * Rule 11: the write is sent, and the child settles now with the value it
   * records (decoded, as a replay would see it). Until the write is
   * acknowledged nothing starts (startTry, send); an acknowledgement that
   * refuses it or recorded another outcome drops all that ran since: the
   * attempt ends in a replay without speculation.
   */
  private speculate(child: Child, action: PromiseCreateRequest | PromiseSettleRequest, settled: Settlement): void {
    const id = child.id;
    this.unacked++;
    this.fence(id, action, (record) => {
      if (record === "lost") return;
      if (record instanceof Error) return this.replay(`the write recording "${id}" was refused: ${record.message}`);
      if (record.state !== settled.state || !sameData(record.value.data, settled.value.data)) {
        return this.replay(`"${id}" was recorded ${record.state} with another value than this attempt computed`);
      }
      if (--this.unacked > 0) return;
      const gated = this.gated;
      this.gated = [];
      for (const k of gated) k();
    });
    const local: PromiseRecord = { id, state: settled.state, param: EMPTY, value: settled.value, tags: {}, timeoutAt: 0, createdAt: 0 };
    this.settleChild(child, outcomeOf(local, this.init.codec));
  }

  /** Speculative progress is dropped: run the task again at this version from what is durable, not speculating. */
  private replay(reason: string): void {
    this.end({ kind: "replay", reason, records: [...this.cache.values()] });
  }

  private createRemote(child: Child, spec: Exclude<ChildSpec, { kind: "run" }>, param: Value): void {
    const parent = child.parent;
    const now = this.init.now();
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
    const action: PromiseCreateRequest = {
      kind: "promise.create",
      data: { id: spec.id, timeoutAt, param, tags: this.tagsOf(spec, parent) },
    };
    this.fence(spec.id, action, (record) => {
      if (record === "lost") return;
      if (record instanceof Error) return this.failChild(child, record);
      const mismatch = this.compare(spec, param, record);
      if (mismatch !== undefined) return this.failChild(child, mismatch);
      if (record.state === "pending") this.markCreated(child, "pending");
      else this.settleChild(child, outcomeOf(record, this.init.codec));
    });
  }

  private markCreated(child: Child, state: "running" | "pending"): void {
    child.state = state;
    this.emit({ kind: "created", child: child.handle });
  }

  private settleChild(child: Child, outcome: Outcome, durable = true): void {
    if (child.state === "settled") return;
    // A failure reported before the child existed is seen where it was started (spawn rejects).
    if (!durable && child.state === "starting") child.consumed = true;
    child.state = "settled";
    child.outcome = outcome;
    for (const e of child.awaiters) e.awaiting.delete(child);
    child.awaiters.clear();
    this.emit({ kind: "resolve", child: child.handle, outcome, durable });
    if (this.joining.size > 0) for (const e of [...this.joining]) if (e.join!.open.includes(child)) this.tryJoin(e);
  }

  /** Failed before it existed durably (bad argument, refused request, another call recorded there). */
  private failChild(child: Child, error: unknown): void {
    this.settleChild(child, { ok: false, error }, false);
  }

  /** A replayed call must be the call that was recorded. */
  private compare(spec: ChildSpec, param: Value, recorded: PromiseRecord): ResonateError | undefined {
    if (sameCall(spec, param, recorded, this.init.codec)) return undefined;
    const error = nonDeterministic(
      spec.id,
      describeCall(recorded, this.init.codec),
      describeCall({ id: spec.id, param, tags: this.tagsOf(spec) }, this.init.codec),
    );
    if (this.poison === undefined) {
      this.poison = error;
      this.emit({ kind: "nonDeterministic", id: spec.id, error });
    }
    return error;
  }

  private timeoutOf(parent: Exec, relative: number | undefined): number {
    const bound = parent.info.timeoutAt;
    return relative === undefined ? bound : Math.min(this.init.now() + relative, bound);
  }

  private tagsOf(spec: ChildSpec, parent?: Exec): Record<string, string> {
    return childTags(spec, {
      originId: this.originId,
      branchId: this.branchId,
      parentId: parent?.id ?? this.init.root.id,
      timerTarget: this.init.timerTarget,
    });
  }

  // ================================================================ the node

  private merge(records: PromiseRecord[] | undefined): void {
    for (const r of records ?? []) {
      const known = this.cache.get(r.id);
      if (known === undefined || known.state === "pending") this.cache.set(r.id, r);
    }
  }

  /** One fenced create or settle at this attempt's version. */
  private fence(id: string, action: PromiseCreateRequest | PromiseSettleRequest, k: (result: Fenced) => void): void {
    const { task } = this.init;
    const request: RequestOf<"task.fence"> = { kind: "task.fence", data: { id: task.id, version: task.version, action } };
    const onAnswer = (res: Response<"task.fence">) => {
      if (res.status !== 200) return k(this.refused(res, id));
      this.merge(res.data.preload);
      const inner = res.data.action;
      if ("error" in inner) return k(new ServerError(inner.kind, inner.error, id));
      const record = inner.data.promise;
      this.cache.set(record.id, record);
      k(record);
    };
    if (action.kind === "promise.create") {
      const req = this.register(onAnswer);
      this.emit({ kind: "create", requests: [{ req, request }] });
    } else {
      this.send("settle", request, onAnswer);
    }
  }

  /** Settle the root: the attempt completes (a poisoned attempt rejects with the non-determinism). */
  private fulfill(outcome: Outcome): void {
    const { root, task } = this.init;
    const final: Outcome = this.poison !== undefined ? { ok: false, error: this.poison } : outcome;
    const action = { kind: "promise.settle" as const, data: { id: root.id, ...settlementOf(final, root.id, this.init.codec) } };
    this.send("fulfill", { kind: "task.fulfill", data: { id: task.id, version: task.version, action } }, (res) => {
      if (res.status === 200) return this.end({ kind: "completed", promise: res.data.promise });
      const refused = this.refused(res, root.id);
      if (refused !== "lost") this.fail(refused);
    });
  }

  private suspend(awaited: Child[]): void {
    const { root, task } = this.init;
    const actions = awaited.map((c) => ({ kind: "promise.register_callback" as const, data: { awaited: c.id, awaiter: root.id } }));
    const request: RequestOf<"task.suspend"> = { kind: "task.suspend", data: { id: task.id, version: task.version, actions } };
    this.send(
      "suspend",
      request,
      (res) => {
        if (res.status === 200) return this.end({ kind: "suspended" });
        if (res.status !== 300) {
          const refused = this.refused(res, root.id);
          if (refused !== "lost") this.fail(refused);
          return;
        }
        // Redirect: something awaited settled meanwhile; continue this attempt with it.
        this.merge(res.data.preload);
        const unknown = awaited.filter((c) => (this.cache.get(c.id)?.state ?? "pending") === "pending");
        let left = unknown.length;
        const resume = () => {
          for (const c of awaited) {
            const record = this.cache.get(c.id);
            if (record !== undefined && record.state !== "pending") this.settleChild(c, outcomeOf(record, this.init.codec));
          }
        };
        if (left === 0) return resume();
        for (const c of unknown) {
          this.send("read", { kind: "promise.get", data: { id: c.id } }, (got) => {
            if (got.status === 200) this.merge([got.data.promise]);
            if (--left === 0) resume();
          });
        }
      },
      awaited.map((c) => c.id),
    );
  }

  /** A refusal of a holder operation: 404/409 mean the task is not ours any more. */
  private refused(res: Response, id: string): Error | "lost" {
    const error = "error" in res ? res.error : { status: 500 as const, code: "INTERNAL" as const, message: `unexpected status ${res.status}` };
    if (res.status === 409 || error.code === "TASK_NOT_FOUND") {
      this.end({ kind: "lost", reason: `${res.kind} answered ${res.status}: ${error.message}` });
      return "lost";
    }
    return new ServerError(res.kind, error, id);
  }

  private register<K extends "task.fence" | "promise.get" | "task.suspend" | "task.fulfill">(
    k: (res: Response<K>) => void,
  ): number {
    const req = ++this.counter;
    this.inflight.set(req, k as (res: Response) => void);
    return req;
  }

  private send<K extends "task.fence" | "promise.get" | "task.suspend" | "task.fulfill">(
    kind: "settle" | "read" | "suspend" | "fulfill",
    request: RequestOf<K>,
    k: (res: Response<K>) => void,
    ids?: string[],
  ): void {
    // Rule 11: a read or a suspend waits until every speculative write is acknowledged.
    if (this.unacked > 0 && (kind === "read" || kind === "suspend")) return void this.gated.push(() => this.send(kind, request, k, ids));
    const req = this.register(k);
    this.emit({ kind, req, request, ...(ids !== undefined ? { ids } : {}) } as Command);
  }

  // ================================================================ plumbing

  private setTimer(key: string, at: number, unref: boolean, k: () => void): void {
    this.timers.set(key, k);
    this.emit({ kind: "timer", key, at, unref });
  }

  private cancelTimer(key: string): void {
    if (this.timers.delete(key)) this.emit({ kind: "cancelTimer", key });
  }

  private fail(error: unknown): void {
    this.end({ kind: "failed", error });
  }

  private end(result: CoreResult): void {
    if (this.ended) return;
    this.ended = true;
    this.gated = [];
    for (const e of this.running) e.running = false;
    this.running.clear();
    this.joining.clear();
    this.inflight.clear();
    for (const key of this.timers.keys()) this.emit({ kind: "cancelTimer", key });
    this.timers.clear();
    this.emit({ kind: "done", result });
  }

  private emit(command: Command): void {
    if (this.ended && command.kind !== "done" && command.kind !== "cancelTimer") return;
    if (command.kind === "create") this.creates++;
    this.outbox.push(command);
  }

  private exec(handle: ExecHandle): Exec {
    const e = this.execs.get(handle);
    if (e === undefined) throw new Error(`replay core: no exec ${handle}`);
    return e;
  }

  private child(handle: ChildHandle): Child {
    const c = this.children.get(handle);
    if (c === undefined) throw new Error(`replay core: no child ${handle}`);
    return c;
  }
}

/** The same bytes: the node may spell base64 another way (gRPC carries bytes; a codec may write base64url or no padding). */
function sameData(a: string, b: string): boolean {
  return a === b || Buffer.from(a, "base64").equals(Buffer.from(b, "base64"));
}

function retryable(error: unknown): boolean {
  return !(error instanceof ResonateError && FINAL_CODES.includes(error.code));
}
