// task.fence_batch (protocol/fence-batch.ts): several fenced writes in one
// transition. The rules, then the property that makes it safe: a batch does
// exactly what the same writes do sent one by one as task.fence calls.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { transition } from "../../src/protocol/transition.ts";
import type { PromiseCreateRequest, PromiseSettleRequest, RequestOf } from "../../src/protocol/types.ts";
import { errorOf, HOUR, raw, TARGET, World } from "./harness.ts";

type Action = PromiseCreateRequest | PromiseSettleRequest;

const batch = (id: string, version: number, actions: Action[]): RequestOf<"task.fence_batch"> => ({
  kind: "task.fence_batch",
  data: { id, version, actions },
});
const createAction = (id: string, w: World, extra: Partial<PromiseCreateRequest["data"]> = {}): Action => ({
  kind: "promise.create",
  data: { id, timeoutAt: w.now + HOUR, ...extra },
});
const settleAction = (id: string): Action => ({ kind: "promise.settle", data: { id, state: "resolved", value: { headers: {}, data: "" } } });

function heldRoot(): World {
  const w = new World();
  w.acquired("root");
  return w;
}

describe("task.fence_batch", () => {
  test("runs every write in order and answers each in its place", () => {
    const w = heldRoot();
    const r = w.ok(batch("root", 1, [createAction("root.1", w), createAction("root.2", w), settleAction("root.1")]));
    expect(r.actions.map((a) => [a.kind, a.status])).toEqual([
      ["promise.create", 200],
      ["promise.create", 200],
      ["promise.settle", 200],
    ]);
    expect(w.promises.get("root.1")!.state).toBe("resolved");
    expect(w.promises.get("root.2")!.state).toBe("pending");
  });

  test("a later write sees the earlier ones: the create answers pending, the settle after it resolved", () => {
    const w = heldRoot();
    const r = w.ok(batch("root", 1, [createAction("root.1", w), settleAction("root.1")]));
    const [created, settled] = r.actions;
    expect("data" in created! && created.data.promise.state).toBe("pending");
    expect("data" in settled! && settled.data.promise.state).toBe("resolved");
  });

  test("all writes of a batch are one transition's writes: one commit", () => {
    const w = heldRoot();
    const t = transition(w, batch("root", 1, [createAction("root.1", w), createAction("root.2", w)]), w.now);
    expect(t.writes.map((x) => ("record" in x ? x.record.id : "id" in x ? x.id : x.key)).sort()).toEqual(["root.1", "root.2"]);
  });

  test("a write the protocol refuses is refused in its slot; the others stand", () => {
    const w = heldRoot();
    const r = w.ok(batch("root", 1, [createAction("root.1", w), settleAction("root.404"), createAction("root.2", w)]));
    expect(r.actions.map((a) => a.status)).toEqual([200, 404, 200]);
    expect(errorOf(r.actions[1]!).code).toBe("PROMISE_NOT_FOUND");
    expect([...w.promises.keys()].sort()).toEqual(["root", "root.1", "root.2"]);
  });

  test("a stale version refuses the whole batch with 409 and writes nothing", () => {
    const w = heldRoot();
    const t = transition(w, batch("root", 0, [createAction("root.1", w)]), w.now);
    expect(errorOf(t.response).code).toBe("TASK_VERSION_MISMATCH");
    expect(t.writes).toEqual([]);
  });

  test("a task that is not acquired refuses the whole batch with 409", () => {
    const w = new World();
    w.createTargeted("root");
    expect(errorOf(w.send(batch("root", 0, [createAction("root.1", w)]))).code).toBe("TASK_STATE_CONFLICT");
  });

  test("an unknown task refuses the whole batch with 404", () => {
    const w = new World();
    expect(errorOf(w.send(batch("nope", 1, [createAction("nope.1", w)]))).code).toBe("TASK_NOT_FOUND");
  });

  test("one malformed write refuses the whole batch with 400 naming it, and nothing is written", () => {
    const w = heldRoot();
    const t = transition(w, batch("root", 1, [createAction("root.1", w), { kind: "promise.create", data: { id: "root.2", timeoutAt: -1 } }]), w.now);
    const error = errorOf(t.response);
    expect(error.status).toBe(400);
    expect(error.field).toBe("data.actions[1].data.timeoutAt");
    expect(t.writes).toEqual([]);
  });

  test("a write of the task's own promise is refused: a task settles itself with task.fulfill", () => {
    const w = heldRoot();
    expect(errorOf(w.send(batch("root", 1, [settleAction("root")]))).field).toBe("data.actions[0].data.id");
  });

  test("actions must be a non-empty array of creates and settles, at most 1000", () => {
    const w = heldRoot();
    expect(errorOf(w.send(raw("task.fence_batch", { id: "root", version: 1, actions: [] }))).field).toBe("data.actions");
    expect(errorOf(w.send(raw("task.fence_batch", { id: "root", version: 1 }))).field).toBe("data.actions");
    const callback = { kind: "promise.register_callback", data: { awaited: "a", awaiter: "root" } };
    expect(errorOf(w.send(raw("task.fence_batch", { id: "root", version: 1, actions: [callback] }))).field).toBe("data.actions[0].kind");
    const many = Array.from({ length: 1001 }, (_, i) => createAction(`root.${i}`, w));
    expect(errorOf(w.send(batch("root", 1, many))).message).toMatch(/at most 1000 actions, got 1001/);
  });

  test("a targeted child created in a batch gets its task and its execute", () => {
    const w = heldRoot();
    const sent = w.mark();
    w.ok(batch("root", 1, [createAction("root.1", w, { tags: { "resonate:target": TARGET } })]));
    expect(w.tasks.get("root.1")!.state).toBe("pending");
    expect(sent.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "root.1", version: 0 } }]);
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

function actionOf(o: Op, now: number): Action {
  if (o.op === "settle") return { kind: "promise.settle", data: { id: o.id, state: o.state, value: { headers: {}, data: "" } } };
  // A targeted promise cannot be created settled (validation); keep the generated writes valid.
  const settled = o.settled && !o.targeted ? { settled: { state: "resolved" as const, value: { headers: {}, data: "" } } } : {};
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

test("a batch equals its writes sent one by one as task.fence calls (answers, records, messages)", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 8 }), (pre, ops) => {
      const batched = seeded(pre);
      const oneByOne = seeded(pre);
      const actions = ops.map((o) => actionOf(o, batched.now));

      const r = batched.ok(batch("root", 1, actions));
      const answers = actions.map((action) => {
        const f = oneByOne.ok({ kind: "task.fence", data: { id: "root", version: 1, action } });
        return f.action;
      });

      expect(r.actions).toEqual(answers);
      expect(state(batched)).toEqual(state(oneByOne));
    }),
    { numRuns: 300 },
  );
});

test("a refused batch equals its first write refused one by one: nothing written either way", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 6 }), fc.constantFrom(0, 2), (pre, ops, stale) => {
      const w = seeded(pre);
      const before = structuredClone(state(w));
      const actions = ops.map((o) => actionOf(o, w.now));
      const batchError = errorOf(w.send(batch("root", stale, actions)));
      const singleError = errorOf(w.send({ kind: "task.fence", data: { id: "root", version: stale, action: actions[0]! } }));
      expect(batchError.code).toBe(singleError.code);
      expect(state(w)).toEqual(before);
    }),
    { numRuns: 100 },
  );
});
