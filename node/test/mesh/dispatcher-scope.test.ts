// Workers whose sink accepts only some messages (a tenant's worker takes only
// its tenant's work): the dispatcher skips them for other messages without
// detaching them, and parks what no connected worker accepts.

import { describe, expect, it } from "vitest";
import { Dispatcher } from "../../src/mesh/dispatcher.ts";
import type { WorkerSink } from "../../src/mesh/engine.ts";
import type { Message } from "../../src/protocol/types.ts";

class TenantInbox implements WorkerSink {
  readonly ids: string[] = [];
  constructor(private readonly prefix: string) {}
  send(message: Message): boolean {
    this.ids.push(message.kind === "execute" ? message.task.id : message.promise.id);
    return true;
  }
  accepts(message: Message): boolean {
    return (message.kind === "execute" ? message.task.id : message.promise.id).startsWith(this.prefix);
  }
}

const execute = (address: string, id: string): Message => ({ kind: "execute", address, task: { id, version: 1 } });
const unblock = (address: string, id: string): Message => ({
  kind: "unblock",
  address,
  promise: { id, state: "resolved", param: { headers: {}, data: "" }, value: { headers: {}, data: "" }, tags: {}, timeoutAt: 1, createdAt: 0 },
});

describe("dispatcher with workers that accept only some messages", () => {
  it("gives each message of a shared group only to a worker that accepts it", () => {
    const d = new Dispatcher();
    const a = new TenantInbox("a/");
    const b = new TenantInbox("b/");
    d.poll("g", "a", a);
    d.poll("g", "b", b);
    for (let i = 0; i < 3; i++) {
      expect(d.send(execute("poll://any@g", `a/t${i}`))).toBe("sent");
      expect(d.send(execute("poll://any@g", `b/t${i}`))).toBe("sent");
    }
    expect(a.ids).toEqual(["a/t0", "a/t1", "a/t2"]);
    expect(b.ids).toEqual(["b/t0", "b/t1", "b/t2"]);
    expect(d.stats().workers).toBe(2);
  });

  it("parks a message no connected worker accepts, and keeps the workers attached", () => {
    const d = new Dispatcher();
    const a = new TenantInbox("a/");
    d.poll("g", "a", a);
    expect(d.send(execute("poll://any@g", "b/t1"))).toBe("parked");
    expect(d.send(unblock("poll://uni@g/a", "b/p1"))).toBe("parked");
    expect(a.ids).toEqual([]);
    expect(d.stats().workers).toBe(1);
    expect(d.send(execute("poll://any@g", "a/t1"))).toBe("sent");
    expect(a.ids).toEqual(["a/t1"]);
  });

  it("hands parked messages to the worker that connects and accepts them, leaving the rest parked", () => {
    const d = new Dispatcher();
    expect(d.send(execute("poll://any@g", "b/t1"))).toBe("parked");
    expect(d.send(execute("poll://any@g", "a/t1"))).toBe("parked");
    expect(d.send(unblock("poll://any@g", "b/p1"))).toBe("parked");
    expect(d.send(unblock("poll://any@g", "a/p1"))).toBe("parked");
    const a = new TenantInbox("a/");
    d.poll("g", "a", a);
    expect(a.ids).toEqual(["a/t1", "a/p1"]);
    expect(d.stats().waiting).toBe(2);
    const b = new TenantInbox("b/");
    d.poll("g", "b", b);
    expect(b.ids).toEqual(["b/t1", "b/p1"]);
    expect(d.stats().waiting).toBe(0);
  });
});
