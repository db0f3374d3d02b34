// The runner's side of a running durable function: one Execution per try the
// core asked to run (with its Context, found again from any async
// continuation through AsyncLocalStorage), and one Child per durable call,
// whose JS promises the runner settles when the core says so.

import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "pino";
import type { Clock } from "@resonate-mesh/node/local";
import type { Kind, RequestOf, Response } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";
import { Context, type ContextInfo } from "./context.ts";
import type { ChildHandle, ExecHandle } from "./core/types.ts";
import type { Attempt } from "./runner.ts";
import type { Deferred, Outcome } from "./outcome.ts";
import type { Registry } from "./registry.ts";

export type { AttemptResult, ChildSpec } from "./core/types.ts";

export type Send = <K extends Kind>(request: RequestOf<K>) => Promise<Response<K>>;

export interface CoreDeps {
  send: Send;
  codec: Codec;
  clock: Clock;
  logger: Logger;
  /** Where timer promises point, so the node times them out actively. */
  timerTarget: string;
  /** Where ctx.rpc goes when no .target() is given. */
  defaultTarget: string;
  registry: Registry;
  /** The client's id prefix applied to an id the user names. */
  qualify(id: string): string;
}

/** The running function each async continuation belongs to. */
const current = new AsyncLocalStorage<Execution>();

export function currentExecution(): Execution | undefined {
  return current.getStore();
}

/** Run `fn` as part of `exec`: ctx calls and awaits inside it belong to `exec`. */
export function within<T>(exec: Execution, fn: () => T): T {
  return current.run(exec, fn);
}

const ignore = () => undefined;

/**
 * A Deferred whose JS promise is made only when someone asks for it: an
 * awaited child's `created` is never asked for, and a spawned child's result
 * only once the future is awaited. Every durable call makes two of these.
 */
class Settlement<T> implements Deferred<T> {
  private state: "pending" | "resolved" | "rejected" = "pending";
  private outcome: unknown;
  private made: Promise<T> | undefined;
  private settle: ((value: T) => void) | undefined;
  private fail: ((error: unknown) => void) | undefined;

  get promise(): Promise<T> {
    if (this.made === undefined) {
      if (this.state === "resolved") return (this.made = Promise.resolve(this.outcome as T));
      this.made =
        this.state === "rejected"
          ? Promise.reject(this.outcome)
          : new Promise<T>((resolve, reject) => {
              this.settle = resolve;
              this.fail = reject;
            });
      // A child nobody awaits must not crash the process with an unhandled rejection.
      this.made.catch(ignore);
    }
    return this.made;
  }

  resolve(value: T): void {
    if (this.state !== "pending") return;
    this.state = "resolved";
    this.outcome = value;
    this.settle?.(value);
  }

  reject(error: unknown): void {
    if (this.state !== "pending") return;
    this.state = "rejected";
    this.outcome = error;
    this.fail?.(error);
  }
}

/** A durable child call: its JS promise settles once, when the core resolves it. */
export class Child {
  private readonly d = new Settlement<unknown>();
  /** Known to exist durably (spawn() resolves then). */
  readonly created: Deferred<void> = new Settlement<void>();
  /** The user saw its failure where it was started (a rejected spawn). */
  consumed = false;

  constructor(
    readonly handle: ChildHandle,
    readonly id: string,
  ) {}

  get promise(): Promise<unknown> {
    return this.d.promise;
  }

  resolve(outcome: Outcome, durable: boolean): void {
    if (durable || outcome.ok) this.created.resolve();
    else this.created.reject(outcome.error);
    if (outcome.ok) this.d.resolve(outcome.value);
    else this.d.reject(outcome.error);
  }
}

/** One try of one durable function (the root or a local child) within an attempt. */
export class Execution {
  readonly ctx: Context;

  constructor(
    readonly attempt: Attempt,
    readonly handle: ExecHandle,
    readonly id: string,
    readonly info: ContextInfo,
  ) {
    this.ctx = new Context(this);
  }

  /** False once its try ended or was abandoned: its ctx refuses calls then. */
  get running(): boolean {
    return this.attempt.isRunning(this);
  }

  nextId(): string {
    return this.attempt.nextId(this);
  }
}
