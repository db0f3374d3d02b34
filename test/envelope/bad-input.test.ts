// Bad input on POST /: each is a 400 (JSON, with a sentence naming what is
// wrong) and writes nothing: the store holds exactly what it held before.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNode, T0, VERSION, type TestNode } from "./helpers.ts";

const LIMIT = 64 * 1024;

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ maxBodyBytes: LIMIT });
  // Something for a bad request to (not) touch.
  await t.send({ kind: "promise.create", data: { id: "existing", timeoutAt: T0 + 60_000, tags: { "resonate:target": "poll://any@g" } } });
});
afterAll(async () => {
  await t.close();
});

const head = { corrId: "c-bad", version: VERSION };

const cases: [string, string, RegExp][] = [
  ["malformed JSON", `{"kind":"promise.create","head":`, /not valid JSON/],
  ["a body that is not an object", `["promise.create"]`, /must be a JSON object/],
  ["an unknown kind", JSON.stringify({ kind: "promise.explode", head, data: { id: "x" } }), /unknown kind "promise\.explode"/],
  ["a missing kind", JSON.stringify({ head, data: { id: "x" } }), /kind is required/],
  ["data that is not an object", JSON.stringify({ kind: "promise.create", head, data: "x" }), /data must be a JSON object/],
  ["data that is an array", JSON.stringify({ kind: "promise.create", head, data: [] }), /data must be a JSON object/],
  ["a missing corrId", JSON.stringify({ kind: "promise.create", head: { version: VERSION }, data: { id: "x", timeoutAt: T0 + 1000 } }), /head\.corrId is required/],
  ["a missing head", JSON.stringify({ kind: "promise.create", data: { id: "x", timeoutAt: T0 + 1000 } }), /head is required/],
  ["an unsupported protocol version", JSON.stringify({ kind: "promise.create", head: { corrId: "c", version: "2025-01-01" }, data: { id: "x", timeoutAt: T0 + 1000 } }), /unsupported protocol version "2025-01-01".*"2026-04-01"/],
  ["a bad target address", JSON.stringify({ kind: "promise.create", head, data: { id: "x", timeoutAt: T0 + 1000, tags: { "resonate:target": "poll://everyone@g" } } }), /resonate:target/],
  ["a bad listener address", JSON.stringify({ kind: "promise.register_listener", head, data: { awaited: "existing", address: "not an address" } }), /data\.address/],
  ["an empty id", JSON.stringify({ kind: "promise.create", head, data: { id: "", timeoutAt: T0 + 1000 } }), /data\.id/],
  ["payload data that is not base64", JSON.stringify({ kind: "promise.settle", head, data: { id: "existing", state: "resolved", value: { data: "%%%" } } }), /data\.value\.data/],
  ["a nested action of the wrong kind", JSON.stringify({ kind: "task.fulfill", head, data: { id: "existing", version: 0, action: { kind: "promise.create", head, data: { id: "existing", timeoutAt: 1 } } } }), /data\.action\.kind/],
  ["a heartbeat task without a version", JSON.stringify({ kind: "task.heartbeat", head, data: { pid: "w", tasks: [{ id: "existing" }] } }), /data\.tasks\[0\]\.version/],
];

describe("bad input is refused with 400 and writes nothing", () => {
  it.each(cases)("%s", async (_name, body, message) => {
    const before = await t.dump();
    const answer = await t.post(body);
    expect(answer.status).toBe(400);
    expect(answer.contentType).toBe("application/json");
    expect(answer.body.head.status).toBe(400);
    expect(typeof answer.body.data).toBe("string");
    expect(answer.body.data).toMatch(message);
    expect(await t.dump()).toEqual(before);
  });

  it("an oversized body, before any of it is parsed", async () => {
    const before = await t.dump();
    const big = JSON.stringify({ kind: "promise.create", head, data: { id: "big", timeoutAt: T0 + 1000, param: { data: "A".repeat(LIMIT * 2) } } });
    const answer = await t.post(big);
    expect(answer.status).toBe(413);
    expect(answer.contentType).toBe("application/json");
    expect(answer.body.data).toMatch(new RegExp(`larger than the limit of ${LIMIT} bytes`));
    expect(await t.dump()).toEqual(before);
    // The node still answers afterwards.
    expect((await t.send({ kind: "promise.get", data: { id: "existing" } })).status).toBe(200);
  });

  it("echoes the corrId and kind it could read, so the caller can match the answer", async () => {
    const answer = await t.post(JSON.stringify({ kind: "promise.get", head: { corrId: "mine", version: "1999-01-01" }, data: { id: "existing" } }));
    expect(answer.body.kind).toBe("promise.get");
    expect(answer.body.head.corrId).toBe("mine");
  });

  it("answers another method on / with a JSON 405", async () => {
    const res = await fetch(`${t.url}/`, { method: "PUT", body: "{}" });
    expect(res.status).toBe(405);
    expect(res.headers.get("content-type")).toBe("application/json");
  });
});
