// The Context: first argument of every durable function. Each method returns
// a builder that is awaited directly (it is a thenable) or `.spawn()`ed into a
// DurableFuture. A DurableFuture is deliberately NOT thenable, so
// `await ctx.run(f).spawn()` gives the future rather than its result.

import { parseAddress, formatAddress } from "@resonate-mesh/node/protocol";
import { contextOutsideFunction, futureAlreadyAwaited, invalidArgument } from "./errors.ts";
import { validateId } from "./ids.ts";
import type { RetryPolicy } from "./options/retry.ts";
import { Retry } from "./options/retry.ts";
import { currentExecution, type Child, type ChildSpec, type Execution } from "./execution.ts";
import type { DurableFunction } from "./types.ts";

export interface ContextInfo {
  parentId: string;
  originId: string;
  branchId: string;
  funcName: string;
  timeoutAt: number;
  /** 1 for the first try of this function in this run, 2 for its first retry, ... */
  attempt: number;
  /** The registered version of the function. */
  version: number;
  tags: Record<string, string>;
}

export interface Info {
  readonly attempt: number;
  readonly version: number;
  readonly tags: Readonly<Record<string, string>>;
}

export interface LatentOptions {
  /** An id of your own (e.g. `approval-${orderId}`), so outside code can find it; default derived. */
  id?: string;
  /** Relative timeout in ms (bounded by the function's own timeout). */
  timeout?: number;
  /** Stored in the promise's param, for whoever settles it. */
  data?: unknown;
  tags?: Record<string, string>;
}

/** The function that is running where a builder or future is awaited, else the one that made it. */
function awaiter(owner: Execution): Execution {
  const running = currentExecution();
  return running !== undefined && running.attempt === owner.attempt && running.running ? running : owner;
}

function checkTimeout(ms: unknown, what: string): number {
  if (typeof ms !== "number" || !(ms > 0) || !Number.isFinite(ms)) {
    throw invalidArgument(`${what}: a timeout must be a positive number of milliseconds, got ${String(ms)}.`);
  }
  return ms;
}

/** A group name or an address, as the node routes it. */
export function resolveTarget(target: string): string {
  const parsed = parseAddress(target);
  if (typeof parsed === "string") throw invalidArgument(`target ${parsed}.`);
  return formatAddress(parsed);
}

export class Context {
  readonly #exec: Execution;

  /** @internal Contexts are made by the SDK, one per running durable function. */
  constructor(exec: Execution) {
    this.#exec = exec;
  }

  /** This execution's promise id. */
  get id(): string {
    return this.#exec.id;
  }
  get parentId(): string {
    return this.#exec.info.parentId;
  }
  get originId(): string {
    return this.#exec.info.originId;
  }
  get funcName(): string {
    return this.#exec.info.funcName;
  }
  /** Absolute deadline (ms since epoch) of this execution's promise. */
  get timeoutAt(): number {
    return this.#exec.info.timeoutAt;
  }
  get info(): Info {
    const { attempt, version, tags } = this.#exec.info;
    return { attempt, version, tags };
  }

  /** Run `fn` here, as a durable step: on replay its recorded outcome is returned without running it. */
  run<A extends unknown[], R>(fn: DurableFunction<A, R>, ...args: A): RunCall<Awaited<R>> {
    const exec = this.#enter("run");
    if (typeof fn !== "function") {
      throw invalidArgument(`ctx.run() needs a function as its first argument, got ${typeof fn} (in "${exec.id}").`, exec.id);
    }
    const registered = exec.attempt.deps.registry.byFunction(fn as DurableFunction);
    return new RunCall(exec, {
      kind: "run",
      id: exec.nextId(),
      name: registered?.name ?? (fn.name || "anonymous"),
      fn: fn as DurableFunction,
      args,
      version: registered?.version ?? 1,
    });
  }

  /** Run the function registered as `name` on some worker of the target group, and wait for it. */
  rpc<T = unknown>(name: string, ...args: unknown[]): RpcCall<T> {
    return this.#remote<T>("rpc", name, args);
  }

  /** Start the function registered as `name` elsewhere, not bound to this one's lifetime or timeout. */
  detached<T = unknown>(name: string, ...args: unknown[]): RpcCall<T> {
    return this.#remote<T>("detached", name, args);
  }

  /** A durable sleep: a timer promise on the node; the worker is free meanwhile. */
  sleep(ms: number): SleepCall {
    const exec = this.#enter("sleep");
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
      throw invalidArgument(`ctx.sleep() needs a number of milliseconds >= 0, got ${String(ms)} (in "${exec.id}").`, exec.id);
    }
    return new SleepCall(exec, { kind: "sleep", id: exec.nextId(), ms });
  }

  /** A latent promise: settled from outside (a person, another system) by its `.id`. */
  promise<T = unknown>(options: LatentOptions = {}): LatentCall<T> {
    const exec = this.#enter("promise");
    // The sequence number is taken either way, so adding an id keeps later child ids stable.
    const derived = exec.nextId();
    const id = options.id === undefined ? derived : exec.attempt.deps.qualify(validateId(options.id, "a latent promise id"));
    if (options.timeout !== undefined) checkTimeout(options.timeout, `ctx.promise() "${id}"`);
    return new LatentCall<T>(exec, {
      kind: "promise",
      id,
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(options.data !== undefined ? { data: options.data } : {}),
      ...(options.tags !== undefined ? { tags: options.tags } : {}),
    });
  }

  /** The time, recorded once and the same on every replay. */
  now(): RunCall<number> {
    const exec = this.#enter("now");
    const clock = exec.attempt.deps.clock;
    const now = () => clock.now();
    return new RunCall<number>(exec, {
      kind: "run",
      id: exec.nextId(),
      name: "resonate:now",
      fn: now,
      args: [],
      version: 1,
      retry: Retry.never(),
    });
  }

  /** A random number in [0, 1), recorded once and the same on every replay. */
  random(): RunCall<number> {
    const exec = this.#enter("random");
    return new RunCall<number>(exec, {
      kind: "run",
      id: exec.nextId(),
      name: "resonate:random",
      fn: () => Math.random(),
      args: [],
      version: 1,
      retry: Retry.never(),
    });
  }

  #remote<T>(kind: "rpc" | "detached", name: string, args: unknown[]): RpcCall<T> {
    const exec = this.#enter(kind);
    if (typeof name !== "string" || name.length === 0) {
      throw invalidArgument(
        `ctx.${kind}() needs the registered name of a function, got ${typeof name === "function" ? `a function; pass its name ("${(name as DurableFunction).name}")` : JSON.stringify(name)} (in "${exec.id}").`,
        exec.id,
      );
    }
    return new RpcCall<T>(exec, {
      kind,
      id: exec.nextId(),
      name,
      args,
      target: exec.attempt.deps.defaultTarget,
      version: 1,
    });
  }

  /** Context methods work only inside their own function, while it runs. */
  #enter(method: string): Execution {
    const exec = this.#exec;
    if (!exec.running) throw contextOutsideFunction(method, exec.id, "after its function returned (or was abandoned)");
    const running = currentExecution();
    if (running !== exec) {
      const where =
        running === undefined
          ? "from outside any durable function"
          : `from inside another durable function ("${running.id}"); use the ctx that function received`;
      throw contextOutsideFunction(method, exec.id, where);
    }
    return exec;
  }
}

/** Awaitable description of one durable call; it starts when awaited or spawned. */
abstract class DurableCall<T> implements PromiseLike<T> {
  #used = false;

  constructor(
    protected readonly exec: Execution,
    protected spec: ChildSpec,
  ) {}

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as PromiseLike declares it
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let result: Promise<T>;
    try {
      const child = this.#begin();
      result = this.exec.attempt.await(child, awaiter(this.exec)) as Promise<T>;
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.then(onfulfilled, onrejected);
  }

  /** Start the call without waiting for its result; resolves once it exists durably. */
  spawn(): Promise<DurableFuture<T>> {
    try {
      const child = this.#begin();
      return child.created.promise.then(
        () => new DurableFuture<T>(child, this.exec),
        (error: unknown) => {
          child.consumed = true;
          throw error;
        },
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Replace the derived child id with one of your own. */
  protected setId(id: string): this {
    this.#assertFresh("id");
    this.spec = { ...this.spec, id: this.exec.attempt.deps.qualify(validateId(id, "a child id")) };
    return this;
  }

  protected set(field: string, patch: Partial<ChildSpec>): this {
    this.#assertFresh(field);
    this.spec = { ...this.spec, ...patch } as ChildSpec;
    return this;
  }

  #assertFresh(field: string): void {
    if (this.#used) {
      throw invalidArgument(`.${field}() was called on the call of "${this.spec.id}" after it started; set options before awaiting or spawning.`, this.spec.id);
    }
  }

  #begin(): Child {
    if (this.#used) throw futureAlreadyAwaited(this.spec.id);
    this.#used = true;
    if (!this.exec.running) {
      throw contextOutsideFunction(this.spec.kind, this.exec.id, "after its function returned: a call must be awaited or spawned inside the function");
    }
    return this.exec.attempt.start(this.exec, this.spec);
  }
}

export class RunCall<T> extends DurableCall<T> {
  timeout(ms: number): this {
    return this.set("timeout", { timeout: checkTimeout(ms, `ctx.run "${this.spec.id}"`) });
  }
  retry(policy: RetryPolicy): this {
    return this.set("retry", { retry: policy });
  }
  id(id: string): this {
    return this.setId(id);
  }
}

export class RpcCall<T> extends DurableCall<T> {
  timeout(ms: number): this {
    return this.set("timeout", { timeout: checkTimeout(ms, `ctx.rpc "${this.spec.id}"`) });
  }
  /** A group name (`workers`) or an address (`poll://any@workers`). */
  target(target: string): this {
    return this.set("target", { target: resolveTarget(target) });
  }
  /** Retries of the remote function, carried in its invocation. */
  retry(policy: RetryPolicy): this {
    return this.set("retry", { retry: policy });
  }
  version(version: number): this {
    if (!Number.isInteger(version) || version < 0) {
      throw invalidArgument(`ctx.rpc "${this.spec.id}": version must be an integer >= 0 (0 = latest), got ${String(version)}.`);
    }
    return this.set("version", { version });
  }
  tags(tags: Record<string, string>): this {
    return this.set("tags", { tags });
  }
  id(id: string): this {
    return this.setId(id);
  }
}

export class SleepCall extends DurableCall<void> {
  id(id: string): this {
    return this.setId(id);
  }
}

export class LatentCall<T> extends DurableCall<T> {
  /** The id outside code settles (resonate.promises.resolve(id, value)). */
  get id(): string {
    return this.spec.id;
  }
  timeout(ms: number): this {
    return this.set("timeout", { timeout: checkTimeout(ms, `ctx.promise "${this.spec.id}"`) });
  }
}

/** A started durable call. Not thenable: `await future.result()` gives its value, once. */
export class DurableFuture<T> {
  readonly id: string;
  readonly #child: Child;
  readonly #owner: Execution;
  #used = false;

  /** @internal */
  constructor(child: Child, owner: Execution) {
    this.id = child.id;
    this.#child = child;
    this.#owner = owner;
  }

  result(): Promise<T> {
    if (this.#used) return Promise.reject(futureAlreadyAwaited(this.id));
    this.#used = true;
    return this.#owner.attempt.await(this.#child, awaiter(this.#owner)) as Promise<T>;
  }
}
