// The pieces an attempt is made of: the durable children a function starts,
// and one Execution per running durable function (with its Context), found
// again from any async continuation through AsyncLocalStorage.

import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "pino";
import type { Clock } from "@resonate-mesh/node/local";
import type { Kind, PromiseRecord, RequestOf, Response } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";
import { Context, type ContextInfo } from "./context.ts";
import type { Attempt } from "./core.ts";
import type { RetryPolicy } from "./options/retry.ts";
import { deferred, type Deferred, type Outcome } from "./outcome.ts";
import type { Registry } from "./registry.ts";
import type { DurableFunction } from "./types.ts";

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

/** What a durable child call asks for. */
export type ChildSpec =
  | {
      kind: "run";
      id: string;
      name: string;
      fn: DurableFunction;
      args: unknown[];
      version: number;
      retry?: RetryPolicy;
      timeout?: number;
    }
  | {
      kind: "rpc" | "detached";
      id: string;
      name: string;
      args: unknown[];
      target: string;
      version: number;
      retry?: RetryPolicy;
      timeout?: number;
      tags?: Record<string, string>;
    }
  | { kind: "sleep"; id: string; ms: number }
  | { kind: "promise"; id: string; timeout?: number; data?: unknown; tags?: Record<string, string> };

/** How an attempt ended. */
export type AttemptResult =
  | { kind: "completed"; promise: PromiseRecord }
  | { kind: "suspended" }
  /** Someone else holds the task now (version moved on, lease lost): nothing more to do. */
  | { kind: "lost"; reason: string }
  /** Something unexpected: the task should be released so it runs again. */
  | { kind: "failed"; error: unknown };

/** The running function each async continuation belongs to. */
const current = new AsyncLocalStorage<Execution>();

export function currentExecution(): Execution | undefined {
  return current.getStore();
}

/** Run `fn` as part of `exec`: ctx calls and awaits inside it belong to `exec`. */
export function within<T>(exec: Execution, fn: () => T): T {
  return current.run(exec, fn);
}

/** A durable child: its JS promise settles from its record, once. */
export class Child {
  state: "starting" | "running" | "pending" | "settled" = "starting";
  readonly promise: Promise<unknown>;
  private readonly d: Deferred<unknown>;
  /** Known to exist durably (spawn() resolves then). */
  readonly created: Deferred<void> = deferred<void>();
  /** Functions currently waiting on it. */
  readonly awaiters = new Set<Execution>();
  /** The user awaited it or asked for its result: its failure is theirs to see. */
  consumed = false;

  constructor(
    readonly id: string,
    readonly remote: boolean,
    readonly detached: boolean,
    private readonly owner: { poke(): void },
  ) {
    this.d = deferred<unknown>();
    this.promise = this.d.promise;
    // A child nobody awaits must not crash the process with an unhandled rejection.
    this.promise.catch(() => undefined);
    this.created.promise.catch(() => undefined);
  }

  settle(outcome: Outcome): void {
    if (this.state === "settled") return;
    this.state = "settled";
    for (const e of this.awaiters) e.awaiting.delete(this);
    this.awaiters.clear();
    this.created.resolve();
    if (outcome.ok) this.d.resolve(outcome.value);
    else this.d.reject(outcome.error);
    this.owner.poke();
  }

  /** Failed before it existed durably (bad argument, refused request): nothing was recorded. */
  fail(error: unknown): void {
    if (this.state === "settled") return;
    this.created.reject(error);
    this.settle({ ok: false, error });
  }
}

/** One run of one durable function (the root or a local child) within an attempt. */
export class Execution {
  running = true;
  /** Durable children this function is waiting on right now. */
  readonly awaiting = new Set<Child>();
  /** Every child it started, for structured concurrency. */
  readonly children: Child[] = [];
  seq = 0;
  readonly ctx: Context;

  constructor(
    readonly attempt: Attempt,
    readonly id: string,
    readonly info: ContextInfo,
  ) {
    this.ctx = new Context(this);
  }

  nextId(): string {
    return `${this.id}.${this.seq++}`;
  }
}

