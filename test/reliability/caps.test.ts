// Issue 14, item 8: ids must be well-formed Unicode (an unpaired UTF-16
// surrogate was accepted over JSON and then unreadable over gRPC), and tags,
// value headers, listener addresses, listeners per promise and heartbeat
// lists have documented caps with errors naming the field and the rule.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMeshServer, type MeshServer } from "../support/mesh-node.ts";

const T0 = 1_700_000_000_000;
let n: MeshServer;

beforeAll(async () => {
  n = await startMeshServer({ now: T0, protocol: { maxListenersPerPromise: 3, maxHeartbeatTasks: 5, maxTags: 4, maxTagLength: 64, maxAddressLength: 80 } });
});

afterAll(async () => {
  await n.close();
});

async function post(kind: string, data: unknown): Promise<{ status: number; data: any }> {
  // JSON.stringify writes a lone surrogate as the escape \ud800, which JSON.parse turns back into one.
  const res = await fetch(`${n.url}/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind, head: { corrId: "c", version: "2026-04-01" }, data }),
  });
  const body = (await res.json()) as { data: unknown };
  return { status: res.status, data: body.data };
}

const create = (id: string, extra: Record<string, unknown> = {}) => post("promise.create", { id, timeoutAt: T0 + 60_000, ...extra });

describe("ids and strings", () => {
  it("an id with an unpaired surrogate is refused, naming the field, and nothing is created", async () => {
    const res = await create("bad-\ud800-id");
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/data\.id must be well-formed Unicode/);
    const search = await n.node.handle({ kind: "promise.search", data: { id: "bad-*" } });
    expect(search.status === 200 && search.data.promises).toEqual([]);
  });

  it("a paired surrogate (an emoji) is an ordinary character", async () => {
    expect((await create("ok-\ud83d\ude00")).status).toBe(200);
  });

  it("a tag with an unpaired surrogate is refused", async () => {
    const res = await create("tagged-1", { tags: { k: "\udc00" } });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/data\.tags\["k"\] must be well-formed Unicode/);
  });
});

describe("caps", () => {
  it("more tags than maxTags are refused", async () => {
    const res = await create("tags-1", { tags: { a: "1", b: "2", c: "3", d: "4", e: "5" } });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/data\.tags must have at most 4 entries, got 5/);
  });

  it("a value header longer than maxTagLength is refused", async () => {
    const res = await create("headers-1", { param: { headers: { h: "x".repeat(100) }, data: "" } });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/data\.param\.headers\["h"\] key and value must be at most 64 characters together, got 101/);
  });

  it("a listener address longer than maxAddressLength is refused", async () => {
    await create("listened-1");
    const res = await post("promise.register_listener", { awaited: "listened-1", address: `poll://uni@g/${"p".repeat(100)}` });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/data\.address must be at most 80 characters long/);
  });

  it("a promise takes at most maxListenersPerPromise listeners; one more is 429, the same one again is fine", async () => {
    await create("listened-2");
    for (const pid of ["a", "b", "c"]) {
      expect((await post("promise.register_listener", { awaited: "listened-2", address: `poll://uni@g/${pid}` })).status).toBe(200);
    }
    const more = await post("promise.register_listener", { awaited: "listened-2", address: "poll://uni@g/d" });
    expect(more.status).toBe(429);
    expect(more.data).toMatch(/already has 3 listeners/);
    expect((await post("promise.register_listener", { awaited: "listened-2", address: "poll://uni@g/a" })).status).toBe(200);
  });

  it("a heartbeat naming more than maxHeartbeatTasks tasks is refused", async () => {
    const tasks = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, version: 1 }));
    const res = await post("task.heartbeat", { pid: "w", tasks });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/data\.tasks must name at most 5 tasks per heartbeat, got 6/);
  });
});
