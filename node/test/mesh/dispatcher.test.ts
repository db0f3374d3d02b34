import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/mesh/clock.ts";
import { Dispatcher } from "../../src/mesh/dispatcher.ts";
import type { WorkerSink } from "../../src/mesh/engine.ts";
import type { Message, PromiseRecord } from "../../src/protocol/types.ts";

class Inbox implements WorkerSink {
  readonly messages: Message[] = [];
  open = true;
  send(message: Message): boolean {
    if (!this.open) return false;
    this.messages.push(message);
    return true;
  }
  get taskIds(): string[] {
    return this.messages.flatMap((m) => (m.kind === "execute" ? [`${m.task.id}@${m.task.version}`] : []));
  }
}

const execute = (address: string, id: string, version = 0): Message => ({ kind: "execute", address, task: { id, version } });

const promise = (id: string): PromiseRecord => ({
  id,
  state: "resolved",
  param: { headers: {}, data: "" },
  value: { headers: {}, data: "" },
  tags: {},
  timeoutAt: 1000,
  createdAt: 0,
  settledAt: 10,
});
const unblock = (address: string, id: string): Message => ({ kind: "unblock", address, promise: promise(id) });

describe("dispatcher routing", () => {
  it("poll://any@group goes to exactly one worker of that group, spread round-robin", () => {
    const d = new Dispatcher();
    const a = new Inbox();
    const b = new Inbox();
    const other = new Inbox();
    d.poll("g", "a", a);
    d.poll("g", "b", b);
    d.poll("h", "a", other);
    for (let i = 0; i < 4; i++) expect(d.send(execute("poll://any@g", `t${i}`))).toBe("sent");
    expect(a.messages).toHaveLength(2);
    expect(b.messages).toHaveLength(2);
    expect(other.messages).toHaveLength(0);
  });

  it("a bare group name means poll://any@group", () => {
    const d = new Dispatcher();
    const a = new Inbox();
    d.poll("workers", "a", a);
    expect(d.send(execute("workers", "t1"))).toBe("sent");
    expect(a.taskIds).toEqual(["t1@0"]);
  });

  it("poll://any@group/pid prefers that pid when it is connected", () => {
    const d = new Dispatcher();
    const a = new Inbox();
    const b = new Inbox();
    d.poll("g", "a", a);
    d.poll("g", "b", b);
    for (let i = 0; i < 3; i++) d.send(execute("poll://any@g/b", `t${i}`));
    expect(b.messages).toHaveLength(3);
    expect(a.messages).toHaveLength(0);
  });

  it("poll://any@group/pid falls back to another worker of the group when that pid is absent", () => {
    const d = new Dispatcher();
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(d.send(execute("poll://any@g/gone", "t1"))).toBe("sent");
    expect(a.taskIds).toEqual(["t1@0"]);
  });

  it("poll://uni@group/pid goes only to that pid, and waits when it is absent", () => {
    const d = new Dispatcher();
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(d.send(unblock("poll://uni@g/b", "p1"))).toBe("parked");
    expect(a.messages).toHaveLength(0);
    const b = new Inbox();
    d.poll("g", "b", b);
    expect(b.messages.map((m) => m.kind)).toEqual(["unblock"]);
    expect(a.messages).toHaveLength(0);
  });

  it("unicast goes to the newest connection of a pid that connected twice", () => {
    const d = new Dispatcher();
    const old = new Inbox();
    const fresh = new Inbox();
    d.poll("g", "a", old);
    d.poll("g", "a", fresh);
    d.send(unblock("poll://uni@g/a", "p1"));
    expect(fresh.messages).toHaveLength(1);
    expect(old.messages).toHaveLength(0);
  });

  it("http(s) addresses are dropped with a warning, not parked", () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as never;
    const d = new Dispatcher({ logger });
    expect(d.send(execute("http://worker.example:8080/", "t1"))).toBe("dropped");
    expect(d.send(execute("http://worker.example:8080/", "t2"))).toBe("dropped");
    expect(warnings).toHaveLength(1);
    expect(d.stats()).toMatchObject({ dropped: 2, waiting: 0 });
  });
});

describe("dispatcher parking", () => {
  it("an execute for a group without workers waits and goes out when a worker of the group connects", () => {
    const d = new Dispatcher();
    expect(d.send(execute("poll://any@g", "t1"))).toBe("parked");
    expect(d.stats().waiting).toBe(1);
    const elsewhere = new Inbox();
    d.poll("h", "x", elsewhere);
    expect(elsewhere.messages).toHaveLength(0);
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(a.taskIds).toEqual(["t1@0"]);
    expect(d.stats().waiting).toBe(0);
  });

  it("parked executes keep one entry per task: the highest version wins", () => {
    const d = new Dispatcher();
    d.send(execute("g", "t1", 1));
    d.send(execute("g", "t1", 3));
    d.send(execute("g", "t1", 2));
    d.send(execute("g", "t2", 0));
    expect(d.stats().waiting).toBe(2);
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(a.taskIds.sort()).toEqual(["t1@3", "t2@0"]);
  });

  it("a parked unicast execute is kept for its pid, not given to another worker", () => {
    const d = new Dispatcher();
    d.send(execute("poll://uni@g/b", "t1"));
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(a.messages).toHaveLength(0);
    const b = new Inbox();
    d.poll("g", "b", b);
    expect(b.taskIds).toEqual(["t1@0"]);
  });

  it("a parked preferred-pid message goes to whichever worker of the group connects first", () => {
    const d = new Dispatcher();
    d.send(unblock("poll://any@g/b", "p1"));
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(a.messages).toHaveLength(1);
  });

  it("parked unblocks per worker are bounded, the oldest dropped first", () => {
    const d = new Dispatcher({ maxParkedUnblocks: 2 });
    for (const id of ["p1", "p2", "p3"]) d.send(unblock("poll://uni@g/a", id));
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(a.messages.map((m) => (m.kind === "unblock" ? m.promise.id : ""))).toEqual(["p2", "p3"]);
  });

  it("parked unblocks expire after their time to live", () => {
    const clock = new ManualClock(0);
    const d = new Dispatcher({ clock, parkedUnblockTtlMs: 1_000 });
    d.send(unblock("poll://uni@g/a", "old"));
    clock.advance(1_500);
    d.send(unblock("poll://uni@g/a", "new"));
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(a.messages.map((m) => (m.kind === "unblock" ? m.promise.id : ""))).toEqual(["new"]);
    expect(d.stats().waiting).toBe(0);
  });

  it("parked executes expire after their time to live (the retry timer parks fresh ones)", () => {
    const clock = new ManualClock(0);
    const d = new Dispatcher({ clock, parkedExecuteTtlMs: 1_000 });
    d.send(execute("g", "stale"));
    clock.advance(600);
    d.send(execute("g", "fresh"));
    clock.advance(600);
    const a = new Inbox();
    d.poll("g", "a", a);
    expect(a.taskIds).toEqual(["fresh@0"]);
    expect(d.stats().waiting).toBe(0);
  });
});

describe("dispatcher worker lifecycle", () => {
  it("a sink that refuses a message is detached and the message goes to another worker", () => {
    const d = new Dispatcher();
    const dead = new Inbox();
    const alive = new Inbox();
    d.poll("g", "dead", dead);
    d.poll("g", "alive", alive);
    dead.open = false;
    d.send(execute("g", "t1"));
    d.send(execute("g", "t2"));
    expect(alive.taskIds).toEqual(["t1@0", "t2@0"]);
    expect(d.stats().workers).toBe(1);
  });

  it("a sink that throws is treated as closed", () => {
    const d = new Dispatcher();
    d.poll("g", "bad", {
      send: () => {
        throw new Error("stream reset");
      },
    });
    expect(d.send(execute("g", "t1"))).toBe("parked");
    expect(d.stats().workers).toBe(0);
  });

  it("when the only worker's sink refuses, the message waits for the next worker", () => {
    const d = new Dispatcher();
    const dead = new Inbox();
    dead.open = false;
    d.poll("g", "dead", dead);
    expect(d.send(execute("g", "t1"))).toBe("parked");
    const next = new Inbox();
    d.poll("g", "next", next);
    expect(next.taskIds).toEqual(["t1@0"]);
  });

  it("a closed subscription leaves nothing behind and receives nothing more", () => {
    const d = new Dispatcher();
    const a = new Inbox();
    const sub = d.poll("g", "a", a);
    sub.close();
    sub.close();
    expect(d.stats().workers).toBe(0);
    expect(d.send(execute("g", "t1"))).toBe("parked");
    expect(a.messages).toHaveLength(0);
  });

  it("a sink that closes while parked work is flushed to it keeps the rest parked", () => {
    const d = new Dispatcher();
    for (const id of ["t1", "t2", "t3"]) d.send(execute("g", id));
    let room = 1;
    const taken: Message[] = [];
    d.poll("g", "a", {
      send: (m) => {
        if (room-- <= 0) return false;
        taken.push(m);
        return true;
      },
    });
    expect(taken).toHaveLength(1);
    expect(d.stats()).toMatchObject({ workers: 0, waiting: 2 });
    const b = new Inbox();
    d.poll("g", "b", b);
    expect(b.messages).toHaveLength(2);
  });
});

describe("fair routing", () => {
  it("`any` executes go to the worker with the fewest unacknowledged ones", () => {
    const d = new Dispatcher();
    const slow = new Inbox();
    const quick = new Inbox();
    d.poll("g", "slow", slow);
    d.poll("g", "quick", quick);
    for (let i = 0; i < 10; i++) {
      d.send(execute("poll://any@g", `t${i}`));
      // quick acquires each at once; slow never does
      for (const m of quick.messages) if (m.kind === "execute") d.acknowledge("quick", m.task.id);
    }
    expect(slow.taskIds).toEqual(["t0@0"]);
    expect(quick.taskIds).toHaveLength(9);
  });

  it("a worker that sits on an execute past stallMs gets no more, and sweep() sends what it holds to one that keeps up", () => {
    const clock = new ManualClock(0);
    const d = new Dispatcher({ clock, stallMs: 1_000 });
    const frozen = new Inbox();
    const healthy = new Inbox();
    d.poll("g", "frozen", frozen);
    d.send(execute("poll://any@g", "t1"));
    d.poll("g", "healthy", healthy);
    clock.advance(1_001);
    d.sweep();
    expect(healthy.taskIds).toEqual(["t1@0"]);
    expect(d.stats()).toMatchObject({ redispatched: 1, lagging: 1 });
  });

  it("a lone worker that does not keep up still gets its group's work (nobody else can take it)", () => {
    const clock = new ManualClock(0);
    const d = new Dispatcher({ clock, stallMs: 1_000 });
    const only = new Inbox();
    d.poll("g", "only", only);
    d.send(execute("poll://any@g", "t1"));
    clock.advance(5_000);
    d.sweep();
    d.send(execute("poll://any@g", "t2"));
    expect(only.taskIds).toEqual(["t1@0", "t2@0"]);
  });

  it("a new worker takes parked executes up to its credit, and more as it acknowledges them", () => {
    const d = new Dispatcher({ maxOutstanding: 2 });
    for (let i = 0; i < 5; i++) d.send(execute("poll://any@g", `t${i}`));
    const w = new Inbox();
    d.poll("g", "w", w);
    expect(w.taskIds).toEqual(["t0@0", "t1@0"]);
    d.acknowledge("w", "t0");
    expect(w.taskIds).toEqual(["t0@0", "t1@0", "t2@0"]);
  });

  it("messages handed back by a closing subscription go to dispatch again", async () => {
    const d = new Dispatcher();
    const cut = new Inbox();
    const sub = d.poll("g", "cut", cut);
    d.send(execute("poll://any@g", "t1"));
    sub.close(cut.messages);
    await Promise.resolve();
    const next = new Inbox();
    d.poll("g", "next", next);
    expect(next.taskIds).toEqual(["t1@0"]);
  });
});
