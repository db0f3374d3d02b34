// Driving the replay core by hand: no event loop, no network. A test feeds
// events, takes commands and answers the requests itself. `TinyNode` answers
// holder requests the way the node's protocol does for the cases these tests
// need (fenced create/settle, get, suspend with 200 or 300, fulfill), so the
// tests read as conversations; the real node is exercised by sdk/test and
// test/sdk, which run the same core through the runner.

import { expect } from "vitest";
import type { PromiseRecord, RequestOf, Response, Value } from "@resonate-mesh/node/protocol";
import { defaultCodec } from "../../src/codec.ts";
import { ReplayCore } from "../../src/core/machine.ts";
import type { Command, RootInvocation } from "../../src/core/types.ts";
import { Retry } from "../../src/options/retry.ts";
import type { Outcome } from "../../src/outcome.ts";
import type { Context } from "../../src/context.ts";

export const T0 = 1_000_000;
export const HOUR = 60 * 60 * 1000;
export const codec = defaultCodec;

export function encode(value: unknown): Value {
  return codec.encode(value);
}

export function decode(value: Value | undefined): unknown {
  return codec.decode(value);
}

/** A stand-in for user functions: the core never calls them, it hands them back in `run`. */
export async function rootFn(_ctx: Context): Promise<void> {}
export async function step(_ctx: Context, ..._args: unknown[]): Promise<void> {}

export function rootRecord(id: string, timeoutAt = T0 + HOUR): PromiseRecord {
  return {
    id,
    state: "pending",
    param: encode({ func: "rootFn", args: [], version: 1 }),
    value: { headers: {}, data: "" },
    tags: { "resonate:origin": id, "resonate:branch": id, "resonate:parent": id, "resonate:scope": "global", "resonate:target": "poll://any@g" },
    timeoutAt,
    createdAt: T0,
  };
}

export interface Setup {
  id?: string;
  preload?: PromiseRecord[];
  timeoutAt?: number;
  retry?: RootInvocation["retry"];
  /** Speculative continuation (CORE.md rule 11); off unless asked for. */
  speculate?: boolean;
}

/** A core for task `id` (version 1) with a clock the test moves, and the commands it emitted so far. */
export class Drive {
  readonly core: ReplayCore;
  readonly node = new TinyNode();
  now = T0;
  readonly log: Command[] = [];
  readonly root: PromiseRecord;

  constructor(setup: Setup = {}) {
    this.root = rootRecord(setup.id ?? "wf", setup.timeoutAt);
    this.node.promises.set(this.root.id, this.root);
    for (const r of setup.preload ?? []) this.node.promises.set(r.id, r);
    this.core = new ReplayCore({
      task: { id: this.root.id, version: 1 },
      root: this.root,
      preload: setup.preload ?? [],
      invocation: { fn: rootFn, name: "rootFn", version: 1, args: [], retry: setup.retry ?? Retry.never() },
      codec,
      now: () => this.now,
      timerTarget: "poll://any@g",
      ...(setup.speculate === true ? { speculate: true } : {}),
    });
  }

  /** The commands emitted since the last take. */
  take(): Command[] {
    const out = this.core.take();
    this.log.push(...out);
    return out;
  }

  /** Start the attempt; returns the root's exec handle. */
  start(): number {
    this.core.start();
    return only(this.take(), "run").exec;
  }

  /** Answer one request command with what TinyNode says. */
  answer(command: Sendable, index = 0): void {
    const { req, request } = command.kind === "create" ? command.requests[index]! : command;
    this.core.answered(req, { response: this.node.answer(request) });
  }

  /** Answer every request among `commands` (in order), then take what followed. */
  answerAll(commands: Command[]): Command[] {
    for (const c of commands) {
      if (c.kind === "create") c.requests.forEach((_, i) => this.answer(c, i));
      else if (isSendable(c)) this.answer(c);
    }
    return this.take();
  }
}

export type Sendable = Extract<Command, { kind: "create" | "settle" | "read" | "suspend" | "fulfill" }>;

export function isSendable(c: Command): c is Sendable {
  return c.kind === "create" || c.kind === "settle" || c.kind === "read" || c.kind === "suspend" || c.kind === "fulfill";
}

/** The one command of `kind` among `commands` (fails the test if there are none or several). */
export function only<K extends Command["kind"]>(commands: Command[], kind: K): Extract<Command, { kind: K }> {
  const found = commands.filter((c) => c.kind === kind);
  expect(found, `one ${kind} among ${kinds(commands).join(", ")}`).toHaveLength(1);
  return found[0] as Extract<Command, { kind: K }>;
}

export function kinds(commands: Command[]): string[] {
  return commands.map((c) => c.kind);
}

/** The outcome a `resolve` command carries, decoded errors as their messages. */
export function resolved(commands: Command[], child: number): Outcome | undefined {
  const c = commands.find((c) => c.kind === "resolve" && c.child === child);
  return c?.kind === "resolve" ? c.outcome : undefined;
}

/** What a fenced create asks for, in short. */
export function created(c: Command): Array<{ id: string; state: string; value?: unknown; tags: Record<string, string>; timeoutAt: number; param: unknown }> {
  if (c.kind !== "create") throw new Error(`not a create: ${c.kind}`);
  return c.requests.map(({ request }) => {
    const action = request.data.action as RequestOf<"promise.create">;
    const settled = action.data.settled;
    return {
      id: action.data.id,
      state: settled?.state ?? "pending",
      ...(settled !== undefined ? { value: decode(settled.value) } : {}),
      tags: action.data.tags ?? {},
      timeoutAt: action.data.timeoutAt,
      param: decode(action.data.param ?? { headers: {}, data: "" }),
    };
  });
}

/** A settled promise as the node would hold it. */
export function settledRecord(id: string, value: unknown, param: unknown, tags: Record<string, string>, state: PromiseRecord["state"] = "resolved"): PromiseRecord {
  return { id, state, param: encode(param), value: encode(value), tags, timeoutAt: T0 + HOUR, createdAt: T0, settledAt: T0 };
}

export function localTags(root: string, parent = root): Record<string, string> {
  return { "resonate:origin": root, "resonate:parent": parent, "resonate:scope": "local", "resonate:branch": root };
}

export function rpcTags(root: string, id: string, target = "poll://any@default"): Record<string, string> {
  return { "resonate:origin": root, "resonate:parent": root, "resonate:scope": "global", "resonate:branch": id, "resonate:target": target };
}

/**
 * The node's answers to holder requests, for one task at version 1: fenced
 * create (idempotent: an existing promise comes back as it is), fenced settle,
 * get, suspend (300 with the settled awaited promises, else 200) and fulfill.
 */
export class TinyNode {
  readonly promises = new Map<string, PromiseRecord>();
  /** Requests it answered, in order. */
  readonly seen: RequestOf<"task.fence" | "promise.get" | "task.suspend" | "task.fulfill">[] = [];

  answer(request: RequestOf<"task.fence" | "promise.get" | "task.suspend" | "task.fulfill">): Response {
    this.seen.push(request);
    switch (request.kind) {
      case "task.fence": {
        const action = request.data.action;
        if (action.kind === "promise.create") {
          const d = action.data;
          let record = this.promises.get(d.id);
          if (record === undefined) {
            record = {
              id: d.id,
              state: d.settled?.state ?? "pending",
              param: d.param ?? { headers: {}, data: "" },
              value: d.settled?.value ?? { headers: {}, data: "" },
              tags: d.tags ?? {},
              timeoutAt: d.timeoutAt,
              createdAt: T0,
            };
            this.promises.set(d.id, record);
          }
          return { kind: "task.fence", status: 200, data: { action: { kind: "promise.create", status: 200, data: { promise: record } }, preload: [] } };
        }
        const record = this.settle(action.data.id, action.data.state, action.data.value);
        return { kind: "task.fence", status: 200, data: { action: { kind: "promise.settle", status: 200, data: { promise: record } }, preload: [] } };
      }
      case "promise.get": {
        const record = this.promises.get(request.data.id);
        return record === undefined
          ? { kind: "promise.get", status: 404, error: { status: 404, code: "PROMISE_NOT_FOUND", message: "no such promise" } }
          : { kind: "promise.get", status: 200, data: { promise: record } };
      }
      case "task.suspend": {
        const settled = request.data.actions
          .map((a) => this.promises.get(a.data.awaited))
          .filter((r): r is PromiseRecord => r !== undefined && r.state !== "pending");
        return settled.length > 0
          ? { kind: "task.suspend", status: 300, data: { preload: settled } }
          : { kind: "task.suspend", status: 200, data: {} };
      }
      case "task.fulfill": {
        const a = request.data.action.data;
        return { kind: "task.fulfill", status: 200, data: { promise: this.settle(a.id, a.state, a.value) } };
      }
    }
  }

  settle(id: string, state: PromiseRecord["state"], value: Value = { headers: {}, data: "" }): PromiseRecord {
    const known = this.promises.get(id);
    if (known === undefined) throw new Error(`TinyNode: no promise ${id}`);
    const record: PromiseRecord = known.state === "pending" ? { ...known, state, value, settledAt: T0 } : known;
    this.promises.set(id, record);
    return record;
  }
}

/** `ctx.run(step, ...args)` made by `exec`, with the next derived id. */
export function run(d: Drive, exec: number, args: unknown[] = [], extra: { retry?: RootInvocation["retry"]; timeout?: number; id?: string } = {}) {
  const id = d.core.nextId(exec);
  return { kind: "run" as const, id: extra.id ?? id, name: "step", fn: step, args, version: 1, ...(extra.retry ? { retry: extra.retry } : {}), ...(extra.timeout ? { timeout: extra.timeout } : {}) };
}

/** `ctx.rpc(name, ...args)` made by `exec`, with the next derived id. */
export function rpc(d: Drive, exec: number, name: string, args: unknown[] = [], extra: { timeout?: number } = {}) {
  return { kind: "rpc" as const, id: d.core.nextId(exec), name, args, target: "poll://any@default", version: 1, ...extra };
}
