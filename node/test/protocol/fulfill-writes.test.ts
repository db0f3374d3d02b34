// task.fulfill carrying fenced writes (our extension, protocol/tasks.ts): the
// rules, then the property that makes it safe: a fulfill with actions does
// exactly what task.fence_batch followed by task.fulfill does.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { transition } from "../../src/protocol/transition.ts";
import type { FencedWrite, RequestOf } from "../../src/protocol/types.ts";
import { errorOf, HOUR, raw, TARGET, World } from "./harness.ts";

const resolved = { state: "resolved" as const, value: { headers: {}, data: "" } };

const fulfill = (id: string, version: number, actions?: FencedWrite[]): RequestOf<"task.fulfill"> => ({
  kind: "task.fulfill",
  data: { id, version, action: { kind: "promise.settle", data: { id, ...resolved } }, ...(actions ? { actions } : {}) },
});
const createAction = (id: string, w: World, extra: Partial<Extract<FencedWrite, { kind: "promise.create" }>["data"]> = {}): FencedWrite => ({
  kind: "promise.create",
  data: { id, timeoutAt: w.now + HOUR, ...extra },
});
const settleAction = (id: string): FencedWrite => ({ kind: "promise.settle", data: { id, ...resolved } });

function heldRoot(): World {
  const w = new World();
  w.acquired("root");
  return w;
}

describe("task.fulfill with actions", () => {
  test("runs every write in order, then settles the root; each write answered in its place", () => {
    const w = heldRoot();
    const r = w.ok(fulfill("root", 1, [createAction("root.1", w, { settled: resolved }), createAction("root.2", w), settleAction("root.2")]));
    expect(r.actions!.map((a) => [a.kind, a.status])).toEqual([
      ["promise.create", 200],
      ["promise.create", 200],
      ["promise.settle", 200],
    ]);
    expect(r.promise.state).toBe("resolved");
    expect(w.promises.get("root.1")!.state).toBe("resolved");
    expect(w.promises.get("root.2")!.state).toBe("resolved");
    expect(w.tasks.get("root")!.state).toBe("fulfilled");
  });

  test("the writes and the settlement are one transition's writes: one commit", () => {
    const w = heldRoot();
    const t = transition(w, fulfill("root", 1, [createAction("root.1", w, { settled: resolved })]), w.now);
    const ids = t.writes.map((x) => ("record" in x ? x.record.id : "id" in x ? x.id : x.key));
    expect(ids).toContain("root.1");
    expect(ids).toContain("root");
  });

  test("without actions the answer has none (the protocol's own task.fulfill)", () => {
    const w = heldRoot();
    expect(w.ok(fulfill("root", 1))).not.toHaveProperty("actions");
    const v = heldRoot();
    expect(v.ok(fulfill("root", 1, []))).not.toHaveProperty("actions");
  });

  test("a write the protocol refuses is refused in its slot; the others and the settlement stand", () => {
    const w = heldRoot();
    const r = w.ok(fulfill("root", 1, [settleAction("root.404"), createAction("root.1", w)]));
    expect(r.actions!.map((a) => a.status)).toEqual([404, 200]);
    expect(r.promise.state).toBe("resolved");
  });

  test("a stale version refuses the whole request with 409 and writes nothing", () => {
    const w = heldRoot();
    const t = transition(w, fulfill("root", 0, [createAction("root.1", w)]), w.now);
    expect(errorOf(t.response).code).toBe("TASK_VERSION_MISMATCH");
    expect(t.writes).toEqual([]);
  });

  test("a task fulfilled already refuses a fulfill with actions (as the batch before it would) and writes nothing", () => {
    const w = heldRoot();
    w.ok(fulfill("root", 1));
    const t = transition(w, fulfill("root", 1, [createAction("root.1", w)]), w.now);
    expect(errorOf(t.response).code).toBe("TASK_STATE_CONFLICT");
    expect(t.writes).toEqual([]);
  });

  test("one malformed write refuses the whole request with 400 naming it, and nothing is written", () => {
    const w = heldRoot();
    const t = transition(w, fulfill("root", 1, [createAction("root.1", w), { kind: "promise.create", data: { id: "root.2", timeoutAt: -1 } }]), w.now);
    const error = errorOf(t.response);
    expect(error.status).toBe(400);
    expect(error.field).toBe("data.actions[1].data.timeoutAt");
    expect(t.writes).toEqual([]);
  });

  test("a write of the task's own promise is refused: the settlement is the fulfill's own action", () => {
    const w = heldRoot();
    expect(errorOf(w.send(fulfill("root", 1, [settleAction("root")]))).field).toBe("data.actions[0].data.id");
  });

  test("actions must be an array of creates and settles, at most 1000", () => {
    const w = heldRoot();
    const base = { id: "root", version: 1, action: { kind: "promise.settle", data: { id: "root", ...resolved } } };
    expect(errorOf(w.send(raw("task.fulfill", { ...base, actions: "x" }))).field).toBe("data.actions");
    const callback = { kind: "promise.register_callback", data: { awaited: "a", awaiter: "root" } };
    expect(errorOf(w.send(raw("task.fulfill", { ...base, actions: [callback] }))).field).toBe("data.actions[0].kind");
    const many = Array.from({ length: 1001 }, (_, i) => createAction(`root.${i}`, w));
    expect(errorOf(w.send(fulfill("root", 1, many))).message).toMatch(/at most 1000 actions, got 1001/);
  });

  test("a targeted child created by the fulfill gets its task and its execute", () => {
    const w = heldRoot();
    const sent = w.mark();
    w.ok(fulfill("root", 1, [createAction("root.1", w, { tags: { "resonate:target": TARGET } })]));
    expect(w.tasks.get("root.1")!.state).toBe("pending");
    expect(sent.messages).toContainEqual({ kind: "execute", address: TARGET, task: { id: "root.1", version: 0 } });
  });
});

// ---------------------------------------------------------------- differential

const CHILDREN = ["root.1", "root.2", "root.3", "other", "other.1"];

type Op =
  | { op: "create"; id: string; targeted: boolean; settled: boolean; timeout: number }
  | { op: "settle"; id: string; state: "resolved" | "rejected" | "rejected_canceled" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("create" as const),
    id: fc.constantFrom(...CHILDREN),
    targeted: fc.boolean(),
    settled: fc.boolean(),
    timeout: fc.constantFrom(-10, 1_000, HOUR),
  }),
  fc.record({
    op: fc.constant("settle" as const),
    id: fc.constantFrom(...CHILDREN),
    state: fc.constantFrom("resolved" as const, "rejected" as const, "rejected_canceled" as const),
  }),
);

function actionOf(o: Op, now: number): FencedWrite {
  if (o.op === "settle") return { kind: "promise.settle", data: { id: o.id, state: o.state, value: { headers: {}, data: "" } } };
  const settled = o.settled && !o.targeted ? { settled: resolved } : {};
  return {
    kind: "promise.create",
    data: { id: o.id, timeoutAt: now + o.timeout, tags: o.targeted ? { "resonate:target": TARGET } : {}, ...settled },
  };
}

/** A world where root is held (v1), with some children already there and a callback from root on one. */
function seeded(pre: Op[]): World {
  const w = heldRoot();
  for (const o of pre) w.send({ kind: "task.fence", data: { id: "root", version: 1, action: actionOf(o, w.now) } });
  if (w.promises.get("root.1")?.state === "pending") w.send({ kind: "promise.register_callback", data: { awaited: "root.1", awaiter: "root" } });
  return w;
}

const state = (w: World) => ({ promises: Object.fromEntries(w.promises), tasks: Object.fromEntries(w.tasks), sent: w.sent });

test("a fulfill with actions equals task.fence_batch of them followed by task.fulfill (answers, records, messages)", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 8 }), (pre, ops) => {
      const together = seeded(pre);
      const apart = seeded(pre);
      const actions = ops.map((o) => actionOf(o, together.now));

      const r = together.ok(fulfill("root", 1, actions));
      const batch = apart.ok({ kind: "task.fence_batch", data: { id: "root", version: 1, actions } });
      const settled = apart.ok(fulfill("root", 1));

      expect(r.actions).toEqual(batch.actions);
      expect(r.promise).toEqual(settled.promise);
      expect(state(together)).toEqual(state(apart));
    }),
    { numRuns: 300 },
  );
});

test("a refused fulfill with actions equals the batch before it refused: nothing written either way", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 6 }), fc.constantFrom(0, 2), (pre, ops, stale) => {
      const w = seeded(pre);
      const before = structuredClone(state(w));
      const actions = ops.map((o) => actionOf(o, w.now));
      const fulfillError = errorOf(w.send(fulfill("root", stale, actions)));
      const batchError = errorOf(w.send({ kind: "task.fence_batch", data: { id: "root", version: stale, actions } }));
      expect(fulfillError.code).toBe(batchError.code);
      expect(state(w)).toEqual(before);
    }),
    { numRuns: 100 },
  );
});
