// Property: whatever order the answers, the returns of local functions, the
// runner's "blocked" observations and the outside settlements arrive in, a
// fan-out workflow ends the same way: the root resolves with the same value,
// each local step runs exactly once across all attempts, and every request
// for one id is the same request.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PromiseRecord, RequestOf } from "@resonate-mesh/node/protocol";
import { ReplayCore } from "../../src/core/machine.ts";
import type { Command } from "../../src/core/types.ts";
import { Retry } from "../../src/options/retry.ts";
import { codec, decode, encode, rootFn, rootRecord, rpcTags, settledRecord, step, T0, TinyNode } from "./support.ts";

type Remote = "settled" | "pending";

interface Workflow {
  /** Remote children: already settled at the node, or settled from outside at some point. */
  remotes: Remote[];
  /** Local children, run here. */
  locals: number;
}

type Pending =
  | { kind: "answer"; req: number; request: RequestOf<"task.fence" | "promise.get" | "task.suspend" | "task.fulfill"> }
  | { kind: "return"; exec: number; value: number }
  | { kind: "rootReturn"; exec: number }
  | { kind: "external"; id: string }
  | { kind: "blocked" };

const remoteValue = (i: number) => 100 * (i + 1);
const localValue = (i: number) => i + 1;

function expected(w: Workflow): number {
  return w.remotes.reduce((s, _r, i) => s + remoteValue(i), 0) + Array.from({ length: w.locals }, (_, i) => localValue(i)).reduce((a, b) => a + b, 0);
}

/** Run the workflow to its end, choosing what happens next by `choices`; returns what the node saw. */
function simulate(w: Workflow, choices: number[]) {
  const node = new TinyNode();
  const root = rootRecord("wf");
  node.promises.set("wf", root);
  const rpcIds = w.remotes.map((_r, i) => `wf.${i}`);
  w.remotes.forEach((r, i) => {
    if (r === "settled") node.promises.set(rpcIds[i]!, settledRecord(rpcIds[i]!, remoteValue(i), { func: "f", args: [i], version: 1 }, rpcTags("wf", rpcIds[i]!)));
  });
  const external = new Set(rpcIds.filter((_id, i) => w.remotes[i] === "pending"));
  const localRuns = new Map<string, number>();
  let pick = 0;
  let result: Extract<Command, { kind: "done" }>["result"] | undefined;

  for (let attempt = 0; attempt < 10 && result === undefined; attempt++) {
    const preload = [...node.promises.values()].filter((p) => p.tags["resonate:branch"] === "wf" && p.id !== "wf");
    const core = new ReplayCore({
      task: { id: "wf", version: 1 },
      root,
      preload,
      invocation: { fn: rootFn, name: "rootFn", version: 1, args: [], retry: Retry.never() },
      codec,
      now: () => T0,
      timerTarget: "poll://any@g",
    });
    const pool: Pending[] = [];
    let rootExec = -1;
    const values = new Map<number, number>();
    let children: number[] = [];
    let suspended = false;

    const perform = (commands: Command[]) => {
      for (const c of commands) {
        switch (c.kind) {
          case "create":
            for (const r of c.requests) pool.push({ kind: "answer", ...r });
            break;
          case "settle":
          case "read":
          case "suspend":
          case "fulfill":
            pool.push({ kind: "answer", req: c.req, request: c.request });
            break;
          case "run":
            if (c.id === "wf") {
              // The root's code: start every child in one step and await them all.
              rootExec = c.exec;
              children = [
                ...w.remotes.map((_r, i) =>
                  core.call(c.exec, { kind: "rpc", id: core.nextId(c.exec), name: "f", args: [i], target: "poll://any@default", version: 1 }),
                ),
                ...Array.from({ length: w.locals }, (_, i) =>
                  core.call(c.exec, { kind: "run", id: core.nextId(c.exec), name: "step", fn: step, args: [i], version: 1 }),
                ),
              ];
              for (const ch of children) core.await(c.exec, ch);
              if (children.length === 0) pool.push({ kind: "rootReturn", exec: c.exec });
            } else {
              localRuns.set(c.id, (localRuns.get(c.id) ?? 0) + 1);
              pool.push({ kind: "return", exec: c.exec, value: localValue(Number(c.id.split(".")[1]) - w.remotes.length) });
            }
            break;
          case "resolve":
            if (!c.outcome.ok) throw new Error(`child failed: ${String(c.outcome.error)}`);
            values.set(c.child, c.outcome.value as number);
            if (children.every((ch) => values.has(ch))) pool.push({ kind: "rootReturn", exec: rootExec });
            break;
          case "done":
            if (c.result.kind === "suspended") suspended = true;
            else result = c.result;
            break;
          default:
            break;
        }
      }
    };

    core.start();
    perform(core.take());
    for (let guard = 0; guard < 10_000 && !suspended && result === undefined; guard++) {
      const options: Pending[] = [...pool, ...[...external].filter((id) => node.promises.has(id)).map((id) => ({ kind: "external" as const, id })), { kind: "blocked" }];
      // Once the choices are used up, take the oldest: every run ends.
      const i = pick < choices.length ? choices[pick++]! % options.length : 0;
      const next = options[i]!;
      const at = pool.indexOf(next);
      if (at !== -1) pool.splice(at, 1);
      switch (next.kind) {
        case "answer":
          core.answered(next.req, { response: node.answer(next.request) });
          break;
        case "return":
          core.returned(next.exec, { ok: true, value: next.value });
          break;
        case "rootReturn":
          core.returned(next.exec, { ok: true, value: children.reduce((s, ch) => s + values.get(ch)!, 0) });
          break;
        case "external":
          external.delete(next.id);
          node.settle(next.id, "resolved", encode(remoteValue(Number(next.id.split(".")[1]))));
          break;
        case "blocked":
          core.blocked();
          break;
      }
      perform(core.take());
    }
    if (suspended) {
      // The node resumes the task once an awaited promise settles from outside.
      for (const id of external) if (node.promises.has(id)) node.settle(id, "resolved", encode(remoteValue(Number(id.split(".")[1]))));
      external.clear();
    }
  }
  return { node, result, localRuns };
}

const workflows = fc.record({
  remotes: fc.array(fc.constantFrom<Remote>("settled", "pending"), { maxLength: 3 }),
  locals: fc.integer({ min: 0, max: 3 }),
});

describe("replay core: any interleaving", () => {
  it("completes a fan-out the same way whatever order events arrive in", () => {
    fc.assert(
      fc.property(workflows, fc.array(fc.nat(), { maxLength: 200 }), (w, choices) => {
        const { node, result, localRuns } = simulate(w, choices);
        expect(result).toMatchObject({ kind: "completed", promise: { id: "wf", state: "resolved" } });
        expect(decode((result as { promise: PromiseRecord }).promise.value)).toBe(expected(w));
        for (let i = 0; i < w.locals; i++) expect(localRuns.get(`wf.${w.remotes.length + i}`)).toBe(1);
        // One id, one request: a replay asks for exactly what the first attempt asked for.
        const byId = new Map<string, string>();
        for (const r of node.seen) {
          if (r.kind !== "task.fence") continue;
          const key = JSON.stringify(r.data.action);
          const known = byId.get(r.data.action.data.id);
          if (known !== undefined) expect(key).toBe(known);
          byId.set(r.data.action.data.id, key);
        }
      }),
      { numRuns: 300 },
    );
  });
});
