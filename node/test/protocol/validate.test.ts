import { describe, expect, test } from "vitest";
import { defaultProtocolConfig } from "../../src/protocol/config.ts";
import { transition } from "../../src/protocol/transition.ts";
import { Tag, type Request } from "../../src/protocol/types.ts";
import { validateRequest } from "../../src/protocol/validate.ts";
import { HOUR, TARGET, World, b64, raw } from "./harness.ts";

const NOW = 1_000_000;
const T = NOW + HOUR;
const create = (data: Record<string, unknown>) => raw("promise.create", { id: "p", timeoutAt: T, ...data });
const settleAction = (data: Record<string, unknown> = {}) => ({ kind: "promise.settle", data: { id: "t", state: "resolved", ...data } });
const createAction = (data: Record<string, unknown> = {}) => ({ kind: "promise.create", data: { id: "t.0", timeoutAt: T, ...data } });

/** [rule, request, field at fault, words the message must contain] */
const cases: [string, Request, string, string?][] = [
  ["a request that is not an object", null as unknown as Request, "request"],
  ["an unknown kind", raw("promise.explode", {}), "kind", "promise.get"],
  ["data that is not an object", raw("promise.get", "p"), "data"],
  ["a missing id", raw("promise.get", {}), "data.id", "non-empty string"],
  ["an empty id", raw("promise.get", { id: "" }), "data.id", "must not be empty"],
  ["an id with a NUL byte", raw("promise.get", { id: "a\0b" }), "data.id", "NUL"],
  ["an id too long", raw("promise.get", { id: "x".repeat(1025) }), "data.id", "at most 1024"],
  ["a negative timeoutAt", create({ timeoutAt: -1 }), "data.timeoutAt", "integer between 0"],
  ["a fractional timeoutAt", create({ timeoutAt: 1.5 }), "data.timeoutAt"],
  ["a timeoutAt beyond the maximum", create({ timeoutAt: Number.MAX_SAFE_INTEGER + 2 }), "data.timeoutAt"],
  ["a timeoutAt that is a string", create({ timeoutAt: "10" }), "data.timeoutAt"],
  ["a param that is not an object", create({ param: "x" }), "data.param"],
  ["a param header that is not a string", create({ param: { headers: { a: 1 }, data: "" } }), 'data.param.headers["a"]'],
  ["param data that is not base64", create({ param: { headers: {}, data: "not base64!" } }), "data.param.data", "base64"],
  ["param data of impossible base64 length", create({ param: { data: "abcde" } }), "data.param.data", "base64"],
  ["a tag value that is not a string", create({ tags: { a: 1 } }), 'data.tags["a"]', "string"],
  ["a malformed target", create({ tags: { [Tag.target]: "ftp://nope" } }), `data.tags["${Tag.target}"]`, "address"],
  ["a unicast target without pid", create({ tags: { [Tag.target]: "poll://uni@g" } }), `data.tags["${Tag.target}"]`],
  ["a delay without a target", create({ tags: { [Tag.delay]: String(NOW + 1) } }), `data.tags["${Tag.delay}"]`, "target"],
  ["a delay that is not an integer", create({ tags: { [Tag.target]: TARGET, [Tag.delay]: "soon" } }), `data.tags["${Tag.delay}"]`],
  ["a delay at or after timeoutAt", create({ tags: { [Tag.target]: TARGET, [Tag.delay]: String(T) } }), `data.tags["${Tag.delay}"]`, "before timeoutAt"],
  ["settled with an unknown state", create({ settled: { state: "done" } }), "data.settled.state", "resolved, rejected"],
  ["settle with an unknown state", raw("promise.settle", { id: "p", state: "pending" }), "data.state", "resolved, rejected, rejected_canceled"],
  ["a callback with a missing awaiter", raw("promise.register_callback", { awaited: "a.1" }), "data.awaiter"],
  ["a listener with a malformed address", raw("promise.register_listener", { awaited: "p", address: "" }), "data.address"],
  ["search with an unknown state", raw("promise.search", { state: "lost" }), "data.state"],
  ["search with limit 0", raw("promise.search", { limit: 0 }), "data.limit", "between 1 and 1000"],
  ["search with limit 1001", raw("task.search", { limit: 1001 }), "data.limit"],
  ["search with a cursor that is not a string", raw("schedule.search", { cursor: 5 }), "data.cursor"],
  ["search with tags that are not an object", raw("schedule.search", { tags: [] }), "data.tags"],
  ["task search with an unknown state", raw("task.search", { state: "running" }), "data.state", "pending, acquired"],
  ["acquire with an empty pid", raw("task.acquire", { id: "t", version: 0, pid: "", ttl: 1000 }), "data.pid"],
  ["acquire with a negative version", raw("task.acquire", { id: "t", version: -1, pid: "w", ttl: 1000 }), "data.version"],
  ["acquire with ttl 0", raw("task.acquire", { id: "t", version: 0, pid: "w", ttl: 0 }), "data.ttl", "between 1 and 604800000 (ms)"],
  ["acquire with an absurd ttl", raw("task.acquire", { id: "t", version: 0, pid: "w", ttl: 1e12 }), "data.ttl"],
  ["task.create with an action of another kind", raw("task.create", { pid: "w", ttl: 1000, action: settleAction() }), "data.action.kind"],
  ["task.create with a bad inner id", raw("task.create", { pid: "w", ttl: 1000, action: { kind: "promise.create", data: { id: "", timeoutAt: T } } }), "data.action.data.id"],
  ["heartbeat with an empty pid", raw("task.heartbeat", { pid: "", tasks: [{ id: "t", version: 0 }] }), "data.pid"],
  ["heartbeat with a bad entry", raw("task.heartbeat", { pid: "w", tasks: [{ id: "t" }] }), "data.tasks[0].version"],
  ["suspend with no actions", raw("task.suspend", { id: "t", version: 1, actions: [] }), "data.actions", "non-empty"],
  ["suspend with an action of another kind", raw("task.suspend", { id: "t", version: 1, actions: [settleAction()] }), "data.actions[0].kind"],
  ["fulfill with a bad inner state", raw("task.fulfill", { id: "t", version: 1, action: settleAction({ state: "ok" }) }), "data.action.data.state"],
  ["fence with a missing action", raw("task.fence", { id: "t", version: 1 }), "data.action"],
  ["fence with a bad inner create", raw("task.fence", { id: "t", version: 1, action: createAction({ timeoutAt: -5 }) }), "data.action.data.timeoutAt"],
  ["schedule with a non-string cron", raw("schedule.create", { id: "s", cron: 5, promiseId: "x", promiseTimeout: 1, promiseTags: { [Tag.target]: TARGET } }), "data.cron"],
  ["schedule with an empty promiseId", raw("schedule.create", { id: "s", cron: "* * * * *", promiseId: "", promiseTimeout: 1, promiseTags: { [Tag.target]: TARGET } }), "data.promiseId"],
  ["schedule with a negative promiseTimeout", raw("schedule.create", { id: "s", cron: "* * * * *", promiseId: "x", promiseTimeout: -1, promiseTags: { [Tag.target]: TARGET } }), "data.promiseTimeout"],
  ["schedule with a malformed target", raw("schedule.create", { id: "s", cron: "* * * * *", promiseId: "x", promiseTimeout: 1, promiseTags: { [Tag.target]: "::" } }), `data.promiseTags["${Tag.target}"]`],
  ["schedule with a delay tag", raw("schedule.create", { id: "s", cron: "* * * * *", promiseId: "x", promiseTimeout: 1, promiseTags: { [Tag.target]: TARGET, [Tag.delay]: "5" } }), `data.promiseTags["${Tag.delay}"]`],
];

describe("validateRequest", () => {
  test("suspend awaiting another origin answers 400 naming the field when requireSameOrigin is on", () => {
    const request = raw("task.suspend", { id: "t", version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: "u.1", awaiter: "t" } }] });
    expect(validateRequest(request, { ...defaultProtocolConfig, requireSameOrigin: true })).toMatchObject({
      status: 400,
      field: "data.actions[0].data.awaited",
    });
    expect(validateRequest(request)).toBeUndefined();
  });

  test.each(cases)("%s answers 400 INVALID_ARGUMENT naming the field", (_rule, request, field, words) => {
    const e = validateRequest(request);
    expect(e).toMatchObject({ status: 400, code: "INVALID_ARGUMENT", field });
    expect(e!.message.startsWith(field)).toBe(true);
    if (words) expect(e!.message).toContain(words);
  });

  test("the message names the field, the rule and the value given", () => {
    const e = validateRequest(raw("task.acquire", { id: "t", version: 0, pid: "w", ttl: -5 }));
    expect(e!.message).toBe("data.ttl must be an integer between 1 and 604800000 (ms), got -5");
  });

  test("a payload over the limit answers 400 naming the limit", () => {
    const e = validateRequest(create({ param: { headers: {}, data: b64("x".repeat(2000)) } }), { ...defaultProtocolConfig, maxPayloadBytes: 1000 });
    expect(e).toMatchObject({ field: "data.param.data" });
    expect(e!.message).toContain("at most 1000 bytes, got 2000");
  });

  test("a payload of exactly the limit is accepted", () => {
    expect(validateRequest(create({ param: { data: b64("x".repeat(1000)) } }), { ...defaultProtocolConfig, maxPayloadBytes: 1000 })).toBeUndefined();
  });

  test.each([
    ["promise.get", { id: "p" }],
    ["promise.create", { id: "p", timeoutAt: T, param: { headers: {}, data: b64("[1]") }, tags: { [Tag.target]: "poll://uni@g/1" } }],
    ["promise.create (url-safe base64, unpadded, missing param fields)", { id: "p", timeoutAt: 0, param: { data: "_-8" }, tags: {} }],
    ["promise.create (delay before timeout)", { id: "p", timeoutAt: T, tags: { [Tag.target]: "g", [Tag.delay]: String(NOW) } }],
    ["promise.settle", { id: "p", state: "rejected_canceled" }],
    ["promise.register_callback", { awaited: "wf:0.1", awaiter: "wf" }],
    ["promise.register_listener", { awaited: "p", address: "http://localhost:9/x" }],
    ["promise.search", { state: "pending", tags: { a: "b" }, id: "wf*", limit: 1000, cursor: "x" }],
    ["task.search", {}],
    ["schedule.search", { limit: 1 }],
    ["task.heartbeat", { pid: "w", tasks: [{ id: "a", version: 1 }, { id: "b.1", version: 0 }] }],
    ["task.suspend", { id: "t", version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: "t.0", awaiter: "t" } }] }],
    ["task.fulfill", { id: "t", version: 1, action: settleAction() }],
    ["task.fence", { id: "t", version: 1, action: createAction() }],
    ["schedule.create", { id: "s", cron: "@hourly", promiseId: "{{.id}}.{{.timestamp}}", promiseTimeout: 0, promiseTags: { [Tag.target]: TARGET } }],
  ])("a well-formed %s passes", (kind, data) => {
    expect(validateRequest(raw(kind.split(" ")[0]!, data))).toBeUndefined();
  });
});

describe("bad input through transition", () => {
  test("a bad request answers 400 with no writes and no messages", () => {
    const w = new World(NOW);
    const t = transition(w, create({ timeoutAt: -1, tags: { [Tag.target]: TARGET } }) as never, NOW);
    expect(t).toEqual({
      response: { kind: "promise.create", status: 400, error: expect.objectContaining({ code: "INVALID_ARGUMENT" }) },
      writes: [],
      messages: [],
    });
  });

  test("values of the wrong type never throw", () => {
    const w = new World(NOW);
    const junk: unknown[] = [undefined, null, 0, "x", [], {}, { kind: 5 }, { kind: "task.fence", data: { action: null } }];
    for (const r of junk) {
      expect(() => transition(w, r as never, NOW)).not.toThrow();
      expect(transition(w, r as never, NOW).response.status).toBe(400);
    }
  });

  test("a search kind is not a transition: it answers 500 and writes nothing", () => {
    const w = new World(NOW);
    const t = transition(w, { kind: "promise.search", data: {} }, NOW);
    expect(t.response.status).toBe(500);
    expect(t.writes).toEqual([]);
  });
});
