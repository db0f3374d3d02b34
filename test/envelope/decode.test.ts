// The JSON envelope <-> protocol request mapping, without a node: what the
// official SDK sends becomes the protocol request with defaults filled, and
// what the protocol answers becomes the records the SDK's validators accept.

import { describe, expect, it } from "vitest";
import { isMessage, isResponse } from "@resonatehq/sdk";
import { decodeEnvelope, EnvelopeError, isDebug } from "@resonate-mesh/node/internal-for-tests";
import { encodeResponse } from "@resonate-mesh/node/internal-for-tests";
import { toWireMessage } from "@resonate-mesh/node/internal-for-tests";
import type { PromiseRecord, StoredTask } from "@resonate-mesh/node/protocol";

const head = { corrId: "c-1", version: "2026-04-01" };

function decodeError(body: unknown): EnvelopeError {
  try {
    decodeEnvelope(body);
  } catch (error) {
    if (error instanceof EnvelopeError) return error;
    throw error;
  }
  throw new Error("expected the envelope to be refused");
}

const stored = {
  id: "wf",
  state: "pending",
  param: { headers: {}, data: "e30=" },
  value: { headers: {}, data: "" },
  tags: { "resonate:target": "poll://any@workers" },
  timeoutAt: 10_000,
  createdAt: 1_000,
  callbacks: ["other"],
  listeners: ["poll://uni@c/1"],
} as PromiseRecord;

describe("decoding requests", () => {
  it("fills param and tags defaults on promise.create", () => {
    const d = decodeEnvelope({ kind: "promise.create", head, data: { id: "p", timeoutAt: 5 } });
    expect(isDebug(d)).toBe(false);
    expect(d).toMatchObject({ kind: "promise.create", corrId: "c-1", request: { kind: "promise.create", data: { id: "p", timeoutAt: 5, param: { headers: {}, data: "" }, tags: {} } } });
  });

  it("keeps only known fields", () => {
    const d = decodeEnvelope({ kind: "promise.get", head, data: { id: "p", callbacks: ["x"] } });
    expect("request" in d && d.request.data).toEqual({ id: "p" });
  });

  it("decodes a fenced create and remembers the inner corrId", () => {
    const d = decodeEnvelope({
      kind: "task.fence",
      head,
      data: { id: "wf", version: 1, action: { kind: "promise.create", head: { corrId: "inner", version: "2026-04-01" }, data: { id: "wf:0", timeoutAt: 9, param: { data: "Mg==" }, tags: { a: "b" } } } },
    });
    expect(d).toMatchObject({ innerCorrId: "inner", request: { data: { action: { kind: "promise.create", data: { id: "wf:0", param: { headers: {}, data: "Mg==" }, tags: { a: "b" } } } } } });
  });

  it("decodes suspend actions as register_callback requests", () => {
    const d = decodeEnvelope({
      kind: "task.suspend",
      head,
      data: { id: "wf", version: 2, actions: [{ kind: "promise.register_callback", head, data: { awaiter: "wf", awaited: "wf:1" } }] },
    });
    expect("request" in d && d.request.data).toEqual({ id: "wf", version: 2, actions: [{ kind: "promise.register_callback", data: { awaited: "wf:1", awaiter: "wf" } }] });
  });

  it("leaves field types to the protocol's validation, passing them through unchanged", () => {
    const d = decodeEnvelope({ kind: "promise.create", head, data: { id: 3, timeoutAt: "soon", tags: { n: 1 }, param: "x" } });
    expect("request" in d && d.request.data).toEqual({ id: 3, timeoutAt: "soon", tags: { n: 1 }, param: "x" });
  });

  it("treats null optional fields as absent", () => {
    const d = decodeEnvelope({ kind: "promise.search", head, data: { state: null, cursor: null, limit: 5 } });
    expect("request" in d && d.request.data).toEqual({ limit: 5 });
  });

  it.each([
    ["a missing head", { kind: "promise.get", data: { id: "p" } }, /head is required/],
    ["a missing corrId", { kind: "promise.get", head: { version: "2026-04-01" }, data: { id: "p" } }, /head\.corrId is required/],
    ["a numeric corrId", { kind: "promise.get", head: { corrId: 7, version: "2026-04-01" }, data: { id: "p" } }, /head\.corrId must be a string/],
    ["an old version", { kind: "promise.get", head: { corrId: "c", version: "2025-01-01" }, data: { id: "p" } }, /unsupported protocol version "2025-01-01".*supports "2026-04-01"/],
    ["an unknown kind", { kind: "promise.explode", head, data: {} }, /unknown kind "promise\.explode"/],
    ["an array data", { kind: "promise.get", head, data: [] }, /data must be a JSON object, got an array/],
    ["a string data", { kind: "promise.get", head, data: "p" }, /data must be a JSON object/],
    ["a missing kind", { head, data: {} }, /kind is required/],
  ])("refuses %s with a 400 naming it", (_name, body, message) => {
    const error = decodeError(body);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it("recognises debug kinds without serving them", () => {
    const d = decodeEnvelope({ kind: "debug.snap", head, data: {} });
    expect(isDebug(d)).toBe(true);
  });
});

describe("encoding answers", () => {
  it("strips internal fields from promises and passes the SDK validator", () => {
    const env = encodeResponse({ kind: "promise.get", corrId: "c-1" }, { kind: "promise.get", status: 200, data: { promise: stored } });
    expect(env.data).toEqual({ promise: { id: "wf", state: "pending", param: { headers: {}, data: "e30=" }, value: { headers: {}, data: "" }, tags: { "resonate:target": "poll://any@workers" }, timeoutAt: 10_000, createdAt: 1_000 } });
    expect(isResponse(env)).toBe(true);
  });

  it("sends resumes as a count and pid/ttl only while acquired", () => {
    const task = { id: "wf", state: "pending", version: 3, resumes: ["a", "b"], pid: "old", ttl: 5, address: "x", createdAt: 0 } as StoredTask;
    const env = encodeResponse({ kind: "task.get", corrId: "c" }, { kind: "task.get", status: 200, data: { task } });
    expect(env.data).toEqual({ task: { id: "wf", state: "pending", version: 3, resumes: 2 } });
    const acquired = encodeResponse({ kind: "task.acquire", corrId: "c" }, { kind: "task.acquire", status: 200, data: { task: { ...task, state: "acquired" }, promise: stored, preload: [] } });
    expect((acquired.data as { task: unknown }).task).toEqual({ id: "wf", state: "acquired", version: 3, resumes: 2, pid: "old", ttl: 5 });
    expect(isResponse(acquired)).toBe(true);
  });

  it("wraps a fence's inner answer in a response envelope echoing the inner corrId", () => {
    const env = encodeResponse(
      { kind: "task.fence", corrId: "outer", innerCorrId: "inner" },
      { kind: "task.fence", status: 200, data: { action: { kind: "promise.create", status: 200, data: { promise: stored } }, preload: [stored] } },
    );
    expect((env.data as { action: { head: unknown; kind: string } }).action.kind).toBe("promise.create");
    expect((env.data as { action: { head: unknown } }).action.head).toEqual({ corrId: "inner", status: 200, version: "2026-04-01" });
    expect(isResponse(env)).toBe(true);
  });

  it("answers a suspend redirect with the preload and a plain suspend with {}", () => {
    const redirect = encodeResponse({ kind: "task.suspend", corrId: "c" }, { kind: "task.suspend", status: 300, data: { preload: [stored] } });
    expect(redirect.head.status).toBe(300);
    expect((redirect.data as { preload: unknown[] }).preload).toHaveLength(1);
    expect(isResponse(redirect)).toBe(true);
    const suspended = encodeResponse({ kind: "task.suspend", corrId: "c" }, { kind: "task.suspend", status: 200, data: {} });
    expect(suspended.data).toEqual({});
  });

  it("answers an error with a sentence as data", () => {
    const env = encodeResponse({ kind: "promise.get", corrId: "c" }, { kind: "promise.get", status: 404, error: { status: 404, code: "PROMISE_NOT_FOUND", message: "promise p does not exist" } });
    expect(env).toEqual({ kind: "promise.get", head: { corrId: "c", status: 404, version: "2026-04-01" }, data: "promise p does not exist" });
    expect(isResponse(env)).toBe(true);
  });

  it("writes execute and unblock messages in the shape the SDK's isMessage accepts", () => {
    const execute = toWireMessage({ kind: "execute", address: "poll://any@g", task: { id: "wf", version: 2 } }, "http://n:8001");
    expect(execute).toEqual({ kind: "execute", head: { serverUrl: "http://n:8001" }, data: { task: { id: "wf", version: 2 } } });
    expect(isMessage(execute)).toBe(true);
    const unblock = toWireMessage({ kind: "unblock", address: "poll://uni@g/1", promise: { ...stored, state: "resolved", settledAt: 2_000 } });
    expect(isMessage(unblock)).toBe(true);
    expect(Object.keys((unblock as { data: { promise: object } }).data.promise)).not.toContain("callbacks");
  });
});
