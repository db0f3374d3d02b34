// The replay core's vocabulary: what a durable call asks for, the commands
// the core emits, and the answers it is fed. The contract is sdk/CORE.md.

import type {
  PromiseRecord,
  RequestOf,
  Response,
  TaskRef,
} from "@resonate-mesh/node/protocol";
import type { ContextInfo } from "../context.ts";
import type { RetryPolicy } from "../options/retry.ts";
import type { Outcome } from "../outcome.ts";
import type { DurableFunction } from "../types.ts";

/** One try of one durable function (the root or a local child), as the core names it. */
export type ExecHandle = number;
/** One durable child call, as the core names it. */
export type ChildHandle = number;

/** What a durable child call asks for. `fn` is opaque to the core: it only hands it back in `run`. */
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

/** Headers to store in a child's param (the trace context: sdk/src/tracing.ts); not part of replay's comparison. */
export type ChildHeaders = { headers?: Record<string, string> };

/** The root function of the task, resolved by the worker from the root promise's param. */
export interface RootInvocation {
  fn: DurableFunction;
  name: string;
  version: number;
  args: unknown[];
  retry: RetryPolicy;
}

/** How an attempt ended. */
export type AttemptResult =
  | { kind: "completed"; promise: PromiseRecord }
  | { kind: "suspended" }
  /** Someone else holds the task now (version moved on, lease lost): nothing more to do. */
  | { kind: "lost"; reason: string }
  /** Something unexpected: the task should be released so it runs again. */
  | { kind: "failed"; error: unknown };

/** How the core ends an attempt: an AttemptResult, or a replay the runner performs itself. */
export type CoreResult =
  | AttemptResult
  /**
   * A speculative write was refused or recorded something else: what ran on
   * its value is dropped. The task is still held: run it again at the same
   * version, without speculation, replaying from `records` (every record
   * this attempt knew). The runner does this itself; workers never see it.
   */
  | { kind: "replay"; reason: string; records: PromiseRecord[] };

/** The answer to a request the core asked for: the node's response, or the transport's failure. */
export type Answer = { response: Response } | { error: unknown };

/** A request the runner sends and answers with `answered(req, ...)`. */
export interface Outgoing<K extends "task.fence" | "promise.get" | "task.suspend" | "task.fulfill"> {
  req: number;
  request: RequestOf<K>;
}

export type Command =
  /** Fenced creates (pending remote children, settled local ones), all requested since the last take. */
  | { kind: "create"; requests: Outgoing<"task.fence">[] }
  /** A fenced settle of a local child whose promise was recorded pending. */
  | ({ kind: "settle" } & Outgoing<"task.fence">)
  /** Read one promise (a local child outside the branch; an awaited child after a redirect). */
  | ({ kind: "read" } & Outgoing<"promise.get">)
  /** Suspend the task with a callback on every awaited pending child. */
  | ({ kind: "suspend"; ids: string[] } & Outgoing<"task.suspend">)
  /** Settle the root promise and complete the task. */
  | ({ kind: "fulfill" } & Outgoing<"task.fulfill">)
  /** Start try `info.attempt` of a durable function as exec `exec`. */
  | { kind: "run"; exec: ExecHandle; id: string; fn: DurableFunction; args: unknown[]; info: ContextInfo }
  /** The child exists durably (a spawn of it resolves). */
  | { kind: "created"; child: ChildHandle }
  /**
   * The child settled with `outcome`. `durable: false` when it failed before it
   * existed durably (a spawn of it rejects too).
   */
  | { kind: "resolve"; child: ChildHandle; outcome: Outcome; durable: boolean }
  /** Call `timerFired(key)` at time `at` (ms since epoch). `unref`: need not keep the process alive. */
  | { kind: "timer"; key: string; at: number; unref: boolean }
  | { kind: "cancelTimer"; key: string }
  /** A replayed call differs from its record: the attempt is poisoned; the root will reject with `error`. */
  | { kind: "nonDeterministic"; id: string; error: Error }
  /** The attempt is over; nothing of it continues (pending JS promises stay pending). */
  | { kind: "done"; result: CoreResult };

/** What the core needs besides the events. All of it is synchronous. */
export interface CoreInit {
  task: TaskRef;
  root: PromiseRecord;
  preload: PromiseRecord[];
  invocation: RootInvocation;
  codec: import("../codec.ts").Codec;
  /** The time in ms since epoch; read, never waited on. */
  now(): number;
  /** Where timer promises point, so the node times them out actively. */
  timerTarget: string;
  /**
   * Speculative continuation (CORE.md rule 11): the code awaiting a local
   * child that finished goes on with its value before the write recording it
   * is acknowledged; no function starts and no read or suspend leaves until
   * every such write is. Off by default (and in a replay after one failed).
   */
  speculate?: boolean;
}
