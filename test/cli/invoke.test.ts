// The promise `resonate invoke` creates, and where the CLI connects.
import { describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { invokeRequest, normalizeTarget, type InvokeOptions } from "@resonate-mesh/node/internal-for-tests";
import { describeGrpcError, parseServer } from "@resonate-mesh/node/internal-for-tests";
import { RefusedError, UsageError } from "@resonate-mesh/node/internal-for-tests";
import { decodeValue } from "@resonate-mesh/node/internal-for-tests";

const defaults: InvokeOptions = { target: "poll://any@default", timeout: "1h", version: "1" };
const NOW = 1_700_000_000_000;

describe("resonate invoke builds one promise.create like the SDKs", () => {
  it("the param is {func, args, version} as base64 JSON", () => {
    const req = invokeRequest("greet-1", { ...defaults, func: "greet", arg: ['"World"'] }, NOW);
    expect(decodeValue(req.param)).toEqual({ kind: "json", value: { func: "greet", args: ["World"], version: 1 } });
    expect(req.param!.headers).toEqual({});
  });

  it("the root tags name the id as origin, branch and parent, with global scope and the target", () => {
    const req = invokeRequest("greet-1", { ...defaults, func: "greet" }, NOW);
    expect(req.tags).toEqual({
      "resonate:target": "poll://any@default",
      "resonate:origin": "greet-1",
      "resonate:branch": "greet-1",
      "resonate:parent": "greet-1",
      "resonate:scope": "global",
    });
    expect(req.timeoutAt).toBe(NOW + 3_600_000);
  });

  it("a bare group name targets any worker of that group", () => {
    expect(normalizeTarget("workers")).toBe("poll://any@workers");
    expect(normalizeTarget("poll://uni@workers/p1")).toBe("poll://uni@workers/p1");
  });

  it("a malformed target is a usage error", () => {
    expect(() => normalizeTarget("poll://uni@workers")).toThrow(UsageError);
  });

  it("--delay sets resonate:delay to now + delay and extends the timeout by it", () => {
    const req = invokeRequest("r-1", { ...defaults, func: "report", delay: "5s", timeout: "1m" }, NOW);
    expect(req.tags!["resonate:delay"]).toBe(String(NOW + 5_000));
    expect(req.timeoutAt).toBe(NOW + 5_000 + 60_000);
  });

  it("--json-args gives all arguments at once, --version the version", () => {
    const req = invokeRequest("s-1", { ...defaults, func: "add", jsonArgs: "[1, 2]", version: "3" }, NOW);
    expect(decodeValue(req.param)).toEqual({ kind: "json", value: { func: "add", args: [1, 2], version: 3 } });
  });

  it.each<[string, Partial<InvokeOptions>, RegExp]>([
    ["no --func", {}, /--func/],
    ["--arg that is not JSON", { func: "f", arg: ["World"] }, /--arg "World" is not valid JSON/],
    ["--arg with --json-args", { func: "f", arg: ["1"], jsonArgs: "[1]" }, /either with --arg or with --json-args/],
    ["--json-args not an array", { func: "f", jsonArgs: '{"a":1}' }, /must be a JSON array/],
    ["--timeout without unit", { func: "f", timeout: "10" }, /--timeout "10" needs a unit/],
    ["--version 0", { func: "f", version: "0" }, /--version must be between 1/],
  ])("%s is a usage error", (_, opts, message) => {
    expect(() => invokeRequest("x", { ...defaults, ...opts }, NOW)).toThrow(message);
  });
});

describe("the server address", () => {
  it.each([
    ["http://localhost:8001", { address: "localhost:8001", tls: false }],
    ["https://mesh.example.com", { address: "mesh.example.com:443", tls: true }],
    ["127.0.0.1:9000", { address: "127.0.0.1:9000", tls: false }],
  ])("%s", (server, endpoint) => {
    expect(parseServer(server)).toEqual(endpoint);
  });

  it("another scheme is a usage error", () => {
    expect(() => parseServer("ftp://x:1")).toThrow(UsageError);
  });
});

describe("gRPC failures become one sentence", () => {
  const fail = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details });

  it("NOT_FOUND names the record", () => {
    const err = describeGrpcError(fail(grpc.status.NOT_FOUND, "Promise not found"), "http://x:1", "promise", "p1");
    expect(err).toBeInstanceOf(RefusedError);
    expect(err.message).toBe('promise "p1" not found');
  });

  it("a refused connection says where and asks whether the node runs", () => {
    const err = describeGrpcError(
      fail(grpc.status.UNAVAILABLE, "No connection established. Last error: connect ECONNREFUSED 127.0.0.1:8001"),
      "http://localhost:8001",
      "promise",
    );
    expect(err.message).toBe("cannot reach the node at http://localhost:8001 (connection refused); is it running?");
  });

  it("INVALID_ARGUMENT from the node is a usage error carrying its message", () => {
    const err = describeGrpcError(fail(grpc.status.INVALID_ARGUMENT, "cron: must have 5 fields"), "http://x:1", "schedule", "s");
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe("cron: must have 5 fields");
  });
});
