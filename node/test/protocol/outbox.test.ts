// The outbox's pure rules: a transition with a locality writes only its home
// partition and leaves what it does to other partitions as effects; applying
// an effect re-derives it in the target partition from the records there, at
// most once per entry (the receipt).

import { describe, expect, test } from "vitest";
import { resolveConfig } from "../../src/protocol/config.ts";
import { OUTBOX_PREFIX, parseOutboxKey, partitionOf, partitionOfId, receiptKey } from "../../src/protocol/keys.ts";
import { applyOutboxEntry, homeIdOf, localityOf, outboxWrites, type Effect, type OutboxEntry } from "../../src/protocol/outbox.ts";
import { fireSchedule } from "../../src/protocol/timers.ts";
import { transition } from "../../src/protocol/transition.ts";
import { Tx } from "../../src/protocol/tx.ts";
import { Tag, type Kind, type RequestOf, type Transition, type Write } from "../../src/protocol/types.ts";
import { HOUR, TARGET, World, req } from "./harness.ts";

const P = 4;

/** An id of a call tree in another partition than `of`'s (deterministic). */
function elsewhere(of: string, stem = "x"): string {
  for (let i = 0; ; i++) if (partitionOfId(`${stem}${i}`, P) !== partitionOfId(of, P)) return `${stem}${i}`;
}

/** A World split into P partitions: runs requests with their locality, keeps outbox records, applies entries. */
class Split extends World {
  readonly raw = new Map<string, unknown>();
  readonly entries: { key: string; entry: OutboxEntry }[] = [];

  record(key: string): unknown {
    return this.raw.get(key);
  }

  override apply(writes: Write[]): void {
    for (const w of writes) if (w.type === "outbox") this.raw.set(w.key, w.value);
    super.apply(writes.filter((w) => w.type !== "outbox"));
  }

  /** Run a request in its home partition; its effects become entries (not applied yet). */
  runAt<K extends Kind>(request: RequestOf<K>): Transition<K> {
    const home = homeIdOf(request);
    const t = transition(this, request, this.now, this.config, localityOf(home, P));
    this.commit(home, t.writes, t.effects ?? []);
    this.sent.push(...t.messages);
    return t;
  }

  commit(home: string, writes: Write[], effects: Effect[]): void {
    const entries = outboxWrites(effects, home, this.now, P, `u${this.entries.length}`);
    for (const w of writes) expect(partitionOf(keyOf(w), P), `${keyOf(w)} written by a step of ${home}`).toBe(partitionOfId(home, P));
    this.apply([...writes, ...entries]);
    for (const e of entries) if (e.type === "outbox") this.entries.push({ key: e.key, entry: e.value as OutboxEntry });
  }

  /** Apply one pending entry (the oldest); returns what applying wrote and whether it did anything. */
  applyNext() {
    const { key, entry } = this.entries.shift()!;
    const r = applyOutboxEntry(this, key, entry, this.now, P, this.config);
    this.commit(effectHome(key, entry), r.writes, r.effects);
    this.sent.push(...r.messages);
    return r;
  }

  /** Apply entries until none is left. */
  drain(): void {
    for (let n = 0; this.entries.length > 0; n++) {
      if (n > 100) throw new Error("the outbox does not drain");
      this.applyNext();
    }
  }
}

function keyOf(w: Write): string {
  return w.type === "outbox" ? w.key : w.type === "schedule.delete" ? `s/${w.id}` : `${w.type[0]}/${w.record.id}`;
}

function effectHome(_key: string, entry: OutboxEntry): string {
  const e = entry.effect;
  return e.kind === "resume" ? e.awaiter : e.kind === "callback" ? e.awaited : e.kind === "create" ? e.data.id : e.id;
}

/** `x` (pending, timing out after `xTimeoutMs`) and `w` targeted and acquired at v1, of two trees. */
function acquiredBeside(s: Split, w: string, x: string, xTimeoutMs = HOUR): void {
  s.runAt(req.create(x, { timeoutAt: s.now + xTimeoutMs }));
  s.runAt(req.create(w, { timeoutAt: s.now + HOUR, tags: { [Tag.target]: TARGET } }));
  s.runAt(req.acquire(w, 0));
}

/** `w` targeted and acquired (v1) in one world, suspended on `x` of another tree. */
function suspendedOn(s: Split, w: string, x: string): void {
  acquiredBeside(s, w, x);
  expect(s.runAt(req.suspend(w, 1, [x])).response.status).toBe(200);
  s.drain();
  expect(s.promises.get(x)!.callbacks).toEqual([w]);
}

/** Two targeted tasks of two partitions, both acquired by p1 with a 10 s lease. */
function heldByOnePid(s: Split): [string, string] {
  const ids: [string, string] = ["wf", elsewhere("wf")];
  for (const id of ids) {
    s.runAt(req.create(id, { timeoutAt: s.now + HOUR, tags: { [Tag.target]: TARGET } }));
    s.runAt(req.acquire(id, 0, "p1", 10_000));
  }
  return ids;
}

describe("home partition of a request", () => {
  test("is the record the request is about: the awaiter of a callback, the awaited of a listener, the action of task.create, the first task of a heartbeat", () => {
    expect(homeIdOf(req.settle("a"))).toBe("a");
    expect(homeIdOf(req.callback("x", "w"))).toBe("w");
    expect(homeIdOf(req.listener("x", "poll://any@g"))).toBe("x");
    expect(homeIdOf(req.taskCreate("t", "p", 1, 2))).toBe("t");
    expect(homeIdOf(req.heartbeat("p", [{ id: "h1", version: 1 }, { id: "h2", version: 1 }]))).toBe("h1");
    expect(homeIdOf(req.suspend("w", 1, ["x"]))).toBe("w");
    expect(homeIdOf(req.scheduleCreate("s", "* * * * *"))).toBe("s");
  });

  test("one partition needs no locality", () => {
    expect(localityOf("a", 1)).toBeUndefined();
    expect(localityOf("a.1", P)).toEqual({ partitions: P, home: partitionOfId("a", P) });
  });
});

describe("a transition writes only its home partition", () => {
  test("a settle whose awaiter lives in another partition writes its own records and leaves a resume effect", () => {
    const s = new Split();
    const w = "wf";
    const x = elsewhere(w);
    suspendedOn(s, w, x);
    const t = s.runAt(req.settle(x));
    expect(t.writes.map(keyOf)).toEqual([`p/${x}`]);
    expect(t.effects).toEqual([{ kind: "resume", awaiter: w, awaited: x }]);
    expect(s.tasks.get(w)!.state).toBe("suspended");
  });

  test("a suspend on a promise of another partition suspends the task and leaves the callback as an effect", () => {
    const s = new Split();
    const w = "wf";
    const x = elsewhere(w);
    acquiredBeside(s, w, x);
    const t = s.runAt(req.suspend(w, 1, [x]));
    expect(t.response.status).toBe(200);
    expect(t.writes.map(keyOf)).toEqual([`t/${w}`]);
    expect(t.effects).toEqual([{ kind: "callback", awaited: x, awaiter: w }]);
  });

  test("a read of another partition's promise past its deadline answers it timed out and leaves a touch effect", () => {
    const s = new Split();
    const w = "wf";
    const x = elsewhere(w);
    acquiredBeside(s, w, x, 1_000);
    s.advance(2_000);
    const t = s.runAt(req.suspend(w, 1, [x]));
    expect(t.response.status).toBe(300);
    expect(t.writes.map(keyOf)).toEqual([]);
    expect(t.effects).toEqual([{ kind: "touch", id: x }]);
    s.drain();
    expect(s.promises.get(x)!.state).toBe("rejected_timedout");
  });

  test("a fenced create of another tree's id answers the promise the owner then creates", () => {
    const s = new Split();
    const w = "wf";
    const x = elsewhere(w);
    s.runAt(req.create(w, { timeoutAt: s.now + HOUR, tags: { [Tag.target]: TARGET } }));
    s.runAt(req.acquire(w, 0));
    const t = s.runAt(req.fence(w, 1, req.create(x, { timeoutAt: s.now + HOUR, tags: { [Tag.target]: TARGET } })));
    expect(t.writes).toEqual([]);
    expect(t.messages).toEqual([]);
    expect(s.promises.get(x)).toBeUndefined();
    const answered = (t.response as { data: { action: { data: { promise: unknown } } } }).data.action.data.promise;
    s.drain();
    expect(s.promises.get(x)).toMatchObject(answered as object);
    expect(s.tasks.get(x)!.state).toBe("pending");
    // The execute is sent by the owner when it creates the task.
    expect(s.sent.filter((m) => m.kind === "execute" && m.task.id === x)).toHaveLength(1);
  });

  test("a fence batch that creates and settles another tree's promise answers as one partition would", () => {
    const one = new World();
    const s = new Split();
    const w = "wf";
    const x = elsewhere(w);
    const batch: RequestOf<"task.fence_batch"> = {
      kind: "task.fence_batch",
      data: { id: w, version: 1, actions: [req.create(x, { timeoutAt: one.now + HOUR }), req.settle(x, "resolved", "done")] },
    };
    for (const world of [one, s]) {
      const run = world instanceof Split ? world.runAt.bind(world) : world.run.bind(world);
      run(req.create(w, { timeoutAt: world.now + HOUR, tags: { [Tag.target]: TARGET } }));
      run(req.acquire(w, 0));
    }
    const expected = one.run(batch).response;
    expect(s.runAt(batch).response).toEqual(expected);
    s.drain();
    expect(s.promises.get(x)).toEqual(one.promises.get(x));
  });

  test("a heartbeat naming tasks of several partitions extends its own and leaves the others' as effects", () => {
    const s = new Split();
    const [a, b] = heldByOnePid(s);
    s.advance(5_000);
    const t = s.runAt(req.heartbeat("p1", [{ id: a, version: 1 }, { id: b, version: 1 }]));
    expect(t.writes.map(keyOf)).toEqual([`t/${a}`]);
    expect(t.effects).toEqual([{ kind: "extend", id: b, version: 1, pid: "p1" }]);
    s.drain();
    expect(s.tasks.get(b)!.leaseExpiresAt).toBe(s.now + 10_000);
  });

  test("a schedule tick whose promise belongs to another partition leaves a create at the tick's time", () => {
    const s = new Split();
    const tickId = "tick";
    const home = elsewhere(tickId, "sched");
    s.runAt(req.scheduleCreate(home, "* * * * *", { promiseId: tickId }));
    const due = s.schedules.get(home)!.nextRunAt;
    s.now = due + 5;
    const fx = fireSchedule(s, home, s.now, s.config, localityOf(home, P));
    expect(fx.writes.map(keyOf)).toEqual([`s/${home}`]);
    expect(fx.effects).toEqual([{ kind: "create", createdAt: due, data: expect.objectContaining({ id: tickId, timeoutAt: due + HOUR }) }]);
    s.commit(home, fx.writes, fx.effects ?? []);
    s.drain();
    expect(s.promises.get(tickId)).toMatchObject({ state: "pending", createdAt: due, tags: { [Tag.schedule]: home } });
  });

  test("a write to another partition outside an effect is refused as a protocol bug", () => {
    const s = new Split();
    const tx = new Tx(s, s.now, resolveConfig({}), localityOf("wf", P));
    const x = elsewhere("wf");
    const empty = { headers: {}, data: "" };
    const record = { id: x, state: "pending" as const, param: empty, value: empty, tags: {}, timeoutAt: s.now + HOUR, createdAt: s.now, callbacks: [], listeners: [] };
    expect(() => tx.putPromise(record)).toThrow(/protocol bug: .* outside an outbox effect/);
    expect(() => tx.abroad({ kind: "touch", id: x }, () => tx.putPromise(record))).not.toThrow();
    expect(tx.writes).toEqual([]);
    expect(tx.effects).toEqual([{ kind: "touch", id: x }]);
  });
});

describe("applying an entry", () => {
  test("resumes the suspended awaiter and writes the receipt; applying the same entry again does nothing", () => {
    const s = new Split();
    const w = "wf";
    const x = elsewhere(w);
    suspendedOn(s, w, x);
    s.runAt(req.settle(x));
    const [{ key, entry }] = [...s.entries];
    const first = s.applyNext();
    expect(first.applied).toBe(true);
    expect(first.writes.map(keyOf)).toEqual([`t/${w}`, receiptKey(key)]);
    expect(first.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: w, version: 1 } }]);
    expect(s.tasks.get(w)).toMatchObject({ state: "pending", resumes: [x] });
    const again = applyOutboxEntry(s, key!, entry!, s.now, P);
    expect(again).toEqual({ writes: [], messages: [], effects: [], applied: false });
  });

  test("re-derives when the target moved on: a callback whose promise settled meanwhile resumes the awaiter instead", () => {
    const s = new Split();
    const w = "wf";
    const x = elsewhere(w);
    acquiredBeside(s, w, x);
    s.runAt(req.suspend(w, 1, [x]));
    // x settles before the callback entry is applied: it has no callback to wake.
    expect(s.runAt(req.settle(x)).effects).toEqual([]);
    const r = s.applyNext();
    expect(r.writes.map(keyOf)).toEqual([expect.stringMatching(/^r\//)]);
    expect(r.effects).toEqual([{ kind: "resume", awaiter: w, awaited: x }]);
    s.drain();
    expect(s.tasks.get(w)).toMatchObject({ state: "pending", resumes: [x] });
    expect(s.promises.get(x)!.callbacks).toEqual([]);
  });

  test("an extend for a task acquired again at another version meanwhile does nothing but its receipt", () => {
    const s = new Split();
    const [a, b] = heldByOnePid(s);
    s.runAt(req.heartbeat("p1", [{ id: a, version: 1 }, { id: b, version: 1 }]));
    s.runAt(req.release(b, 1));
    s.runAt(req.acquire(b, 1, "p2", 10_000));
    const before = s.tasks.get(b);
    const r = s.applyNext();
    expect(r.writes.map(keyOf)).toEqual([expect.stringMatching(/^r\//)]);
    expect(s.tasks.get(b)).toEqual(before);
  });
});

describe("outbox keys", () => {
  test("an entry lives in its cause's partition under its target's prefix; its receipt in the target partition", () => {
    const cause = "wf.3";
    const target = elsewhere("wf");
    const [w] = outboxWrites([{ kind: "touch", id: target }], cause, 1, P, "abc");
    const key = (w as { key: string }).key;
    expect(key.startsWith(OUTBOX_PREFIX)).toBe(true);
    expect(partitionOf(key, P)).toBe(partitionOfId(cause, P));
    expect(parseOutboxKey(key)).toMatchObject({ kind: "entry", target: partitionOfId(target, P) });
    expect(partitionOf(receiptKey(key), P)).toBe(partitionOfId(target, P));
    expect(parseOutboxKey("p/wf")).toBeUndefined();
    expect(parseOutboxKey("o/x/y")).toBeUndefined();
  });
});
