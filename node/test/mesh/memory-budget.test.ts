// The memory budget's admission rule, with the heap reading injected: what
// adds records is refused over the budget, whichever request kind carries it;
// reads and small completions always pass.

import { describe, expect, it } from "vitest";
import { MemoryBudget } from "../../src/mesh/memory.ts";
import type { Request } from "../../src/protocol/types.ts";

const empty = { headers: {}, data: "" };
const create = { kind: "promise.create" as const, data: { id: "p", timeoutAt: 1, param: empty, tags: {} } };
const settle = { kind: "promise.settle" as const, data: { id: "p", state: "resolved" as const, value: empty } };

/** A budget of 1,000 bytes over a heap already at 1,000: anything that adds is refused. */
const full = () => new MemoryBudget(1_000, 50, () => 1_000);

describe("memory budget admission", () => {
  it.each<[string, Request]>([
    ["promise.create", create],
    ["task.fence creating a promise", { kind: "task.fence", data: { id: "t", version: 1, action: create } }],
    ["task.fence_batch creating promises", { kind: "task.fence_batch", data: { id: "t", version: 1, actions: [settle, create] } }],
    ["task.fulfill carrying a create", { kind: "task.fulfill", data: { id: "t", version: 1, action: settle, actions: [create] } }],
  ])("refuses %s over the budget with 429, naming the budget", (_name, request) => {
    const refusal = full().admit(request);
    expect(refusal?.status).toBe(429);
    expect(refusal?.message).toMatch(/memory budget/);
  });

  it.each<[string, Request]>([
    ["promise.get", { kind: "promise.get", data: { id: "p" } }],
    ["a small promise.settle", settle],
    ["a task.fence_batch of small settles", { kind: "task.fence_batch", data: { id: "t", version: 1, actions: [settle, settle] } }],
    ["a task.fulfill without writes", { kind: "task.fulfill", data: { id: "t", version: 1, action: settle } }],
  ])("lets %s through over the budget: it adds no records", (_name, request) => {
    expect(full().admit(request)).toBeUndefined();
  });

  it("admits what fits, counting what it admitted since the last heap sample", () => {
    const budget = new MemoryBudget(1_000, 60_000, () => 0);
    const big = { ...create, data: { ...create.data, param: { headers: {}, data: "x".repeat(600) } } };
    expect(budget.admit(big)).toBeUndefined();
    expect(budget.admit(big)?.status).toBe(429);
  });
});
