// Concurrency facts of the read -> transition -> compare-and-set path, with
// the real protocol: concurrent requests on one record serialise through
// conflicts and retries, and the answers are what one-at-a-time would give.

import { describe, expect, it } from "vitest";
import type { StoredPromise, StoredTask } from "../../src/protocol/types.ts";
import { Inbox, makeNode, req, stored, T0 } from "./helpers.ts";

describe("driver under concurrency", () => {
  it("many concurrent settles of one promise all answer 200 with the same record and exactly one commit lands", async () => {
    const { node, store } = makeNode();
    await node.handle(req.create("p1", T0 + 60_000));
    const before = store.commits;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => node.handle(req.settle("p1", "resolved", Buffer.from(String(i)).toString("base64")))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    const values = new Set(answers.map((a) => (a.status === 200 ? JSON.stringify((a.data as { promise: unknown }).promise) : "")));
    expect(values.size).toBe(1);
    expect(store.commits - before).toBe(1);
    expect(node.stats().store.conflicts).toBeGreaterThan(0);
    expect((await stored<StoredPromise>(store, "p/p1"))?.state).toBe("resolved");
  });

  it("concurrent acquires of one task at one version: exactly one 200, the rest 409", async () => {
    const { node, store } = makeNode();
    await node.handle(req.targeted("t1", T0 + 60_000, "poll://any@g"));
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => node.handle(req.acquire("t1", 0, `w${i}`))));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(24);
    const winner = answers.findIndex((a) => a.status === 200);
    const task = await stored<StoredTask>(store, "t/t1");
    expect(task).toMatchObject({ state: "acquired", version: 1, pid: `w${winner}` });
  });

  it("concurrent creates of one id all answer 200 with one record, and one execute goes out", async () => {
    const { node } = makeNode();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => node.handle(req.targeted("c1", T0 + 60_000, "poll://any@g"))),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(worker.executes).toEqual(["c1@0"]);
  });

  it("concurrent listener registrations on one promise are all kept: each gets the unblock", async () => {
    const { node } = makeNode();
    await node.handle(req.create("l1", T0 + 60_000));
    const inboxes = Array.from({ length: 10 }, (_, i) => {
      const inbox = new Inbox();
      node.poll("clients", `c${i}`, inbox);
      return inbox;
    });
    await Promise.all(
      inboxes.map((_, i) =>
        node.handle({ kind: "promise.register_listener", data: { awaited: "l1", address: `poll://uni@clients/c${i}` } }),
      ),
    );
    await node.handle(req.settle("l1"));
    for (const inbox of inboxes) expect(inbox.unblocks).toEqual(["l1"]);
  });
});
