// The ids a request names (protocol/touches.ts) and the scope rule built on
// them. The per-kind cases over real processes are test/security/scope.test.ts;
// these pin the edge cases of the rule itself.

import { describe, expect, it } from "vitest";
import { scopeRequest, touchedIds } from "../../src/protocol/touches.ts";
import type { ProtocolError, Request } from "../../src/protocol/types.ts";

const refused = (result: Request | ProtocolError) => ("status" in result ? result : undefined);

describe("touchedIds", () => {
  it("names every id of a suspend, with the field of each callback", () => {
    const request: Request = {
      kind: "task.suspend",
      data: {
        id: "a/r",
        version: 1,
        actions: [
          { kind: "promise.register_callback", data: { awaited: "a/r.1", awaiter: "a/r" } },
          { kind: "promise.register_callback", data: { awaited: "a/r.2", awaiter: "a/r" } },
        ],
      },
    };
    expect(touchedIds(request).map((t) => `${t.field}=${t.value}`)).toEqual([
      "data.id=a/r",
      "data.actions[0].data.awaited=a/r.1",
      "data.actions[0].data.awaiter=a/r",
      "data.actions[1].data.awaited=a/r.2",
      "data.actions[1].data.awaiter=a/r",
    ]);
  });

  it("names the lineage tags of a create inside a fence", () => {
    const request: Request = {
      kind: "task.fence",
      data: { id: "a/r", version: 1, action: { kind: "promise.create", data: { id: "a/r.1", timeoutAt: 1, tags: { "resonate:branch": "b/x", other: "b/y" } } } },
    };
    expect(touchedIds(request).map((t) => t.field)).toEqual(["data.id", "data.action.data.id", `data.action.data.tags["resonate:branch"]`]);
  });

  it("skips fields that are not strings (validation refuses those) and never throws on junk", () => {
    expect(touchedIds({ kind: "promise.get", data: { id: 7 } } as unknown as Request)).toEqual([]);
    expect(touchedIds({ kind: "task.heartbeat", data: { pid: "p", tasks: [null, "x", { id: "a/t" }] } } as unknown as Request)).toHaveLength(1);
    expect(touchedIds(null as unknown as Request)).toEqual([]);
    expect(touchedIds({ kind: "nope", data: {} } as unknown as Request)).toEqual([]);
  });
});

describe("scopeRequest", () => {
  it("keeps a request whose ids all start with the prefix", () => {
    const request: Request = { kind: "promise.register_callback", data: { awaited: "a/r.1", awaiter: "a/r" } };
    expect(scopeRequest(request, "a/")).toBe(request);
  });

  it("refuses the first id outside the prefix with 403 naming the field, the id and the prefix", () => {
    const result = refused(scopeRequest({ kind: "promise.register_callback", data: { awaited: "a/r.1", awaiter: "b/r" } }, "a/"));
    expect(result).toMatchObject({ status: 403, code: "PERMISSION_DENIED", field: "data.awaiter" });
    expect(result?.message).toBe(`data.awaiter "b/r" is outside this token's scope: it may only name ids starting with "a/"`);
  });

  it("narrows a search without an id filter, or with an empty one, to the prefix", () => {
    expect(scopeRequest({ kind: "promise.search", data: { state: "pending" } }, "a/")).toEqual({ kind: "promise.search", data: { state: "pending", id: "a/" } });
    expect(scopeRequest({ kind: "task.search", data: { id: "" } }, "a/")).toEqual({ kind: "task.search", data: { id: "a/" } });
  });

  it("judges a glob filter by its literal start", () => {
    expect(refused(scopeRequest({ kind: "promise.search", data: { id: "a/*.1" } }, "a/"))).toBeUndefined();
    expect(refused(scopeRequest({ kind: "promise.search", data: { id: "a*" } }, "a/"))).toMatchObject({ status: 403 });
    expect(refused(scopeRequest({ kind: "promise.search", data: { id: "*" } }, "a/"))).toMatchObject({ status: 403 });
  });

  it("judges a schedule's promise id template by what every tick's id starts with", () => {
    const schedule = (promiseId: string): Request => ({ kind: "schedule.create", data: { id: "a/s", cron: "* * * * *", promiseId, promiseTimeout: 1 } });
    expect(refused(scopeRequest(schedule("{{.id}}-{{.timestamp}}"), "a/"))).toBeUndefined();
    expect(refused(scopeRequest(schedule("a/tick-{{.timestamp}}"), "a/"))).toBeUndefined();
    expect(refused(scopeRequest(schedule("b/{{.id}}"), "a/"))).toMatchObject({ status: 403, field: "data.promiseId" });
    // The timestamp is unknown in advance, so a prefix that would need its digits is not covered.
    expect(refused(scopeRequest(schedule("{{.timestamp}}"), "1"))).toMatchObject({ status: 403 });
  });
});
