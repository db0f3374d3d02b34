// The status codes a memory node cannot produce on demand (auth, overload,
// internal failures), checked through the real server with a stub engine
// that answers them: each protocol status becomes its gRPC status, with the
// protocol's message and the stable code in `resonate-code`.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type RunningServer } from "@resonate-mesh/node/server";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { fromServiceError, grpcCodeOf } from "@resonate-mesh/node/client";
import { PromiseService } from "@resonate-mesh/node/proto";
import type { Engine } from "@resonate-mesh/node/local";
import type { ErrorCode, ErrorStatus, ProtocolError } from "@resonate-mesh/node/protocol";
import { expectStatus, grpc } from "./harness.ts";

/** The id asks for the answer: "401:UNAUTHENTICATED:sentence", or "throw". */
const stub: Engine = {
  async handle(request) {
    const id = (request.data as { id?: string }).id ?? "";
    if (id === "throw") throw new Error("the disk caught fire");
    const [status, code, message] = id.split(":");
    const error: ProtocolError = { status: Number(status) as ErrorStatus, code: code as ErrorCode, message: message! };
    return { kind: request.kind, status: error.status, error } as never;
  },
  poll: () => ({ close() {} }),
};

let server: RunningServer;
let client: ReturnType<typeof createClient<(typeof PromiseService)["method"]>>;
beforeAll(async () => {
  server = await startServer({ engine: stub, port: 0, shutdownGraceMs: 500 });
  client = createClient(PromiseService, server.address);
});
afterAll(async () => {
  client.close();
  await server.close();
});

describe("each protocol status as its gRPC status", () => {
  const cases: [number, ErrorCode, grpc.status][] = [
    [401, "UNAUTHENTICATED", grpc.status.UNAUTHENTICATED],
    [403, "PERMISSION_DENIED", grpc.status.PERMISSION_DENIED],
    [409, "TASK_STATE_CONFLICT", grpc.status.FAILED_PRECONDITION],
    [409, "TASK_VERSION_MISMATCH", grpc.status.ABORTED],
    [422, "AWAITER_NOT_TARGETED", grpc.status.FAILED_PRECONDITION],
    [503, "UNAVAILABLE", grpc.status.UNAVAILABLE],
    [500, "INTERNAL", grpc.status.INTERNAL],
  ];
  for (const [status, code, grpcCode] of cases) {
    test(`${status} ${code} is ${grpc.status[grpcCode]} with the message`, async () => {
      await expectStatus(client.get({ id: `${status}:${code}:the node says no` }), grpcCode, code, /^the node says no$/);
    });
  }

  test("an engine that throws is INTERNAL, with a sentence and no stack", async () => {
    const err = await expectStatus(client.get({ id: "throw" }), grpc.status.INTERNAL, "INTERNAL", /the disk caught fire/);
    expect(err.details).not.toMatch(/\n\s+at /);
  });
});

describe("clients read the protocol error back", () => {
  test("from the resonate-code trailer", async () => {
    const err = await client.get({ id: "409:TASK_VERSION_MISMATCH:stale" }).catch((e: grpc.ServiceError) => e);
    expect(fromServiceError(err as grpc.ServiceError)).toEqual({ status: 409, code: "TASK_VERSION_MISMATCH", message: "stale" });
  });

  test("a transport failure without a trailer is 503 UNAVAILABLE (retryable)", () => {
    expect(fromServiceError({ code: grpc.status.UNAVAILABLE, details: "connection refused" })).toEqual({
      status: 503,
      code: "UNAVAILABLE",
      message: "connection refused",
    });
  });

  test("the mapping is the same both ways for every stable code", () => {
    const codes: [ErrorStatus, ErrorCode][] = [
      [400, "INVALID_ARGUMENT"],
      [404, "PROMISE_NOT_FOUND"],
      [404, "TASK_NOT_FOUND"],
      [404, "SCHEDULE_NOT_FOUND"],
      [409, "TASK_ALREADY_EXISTS"],
      [422, "AWAITED_NOT_FOUND"],
      [422, "PROMISE_WITHOUT_TASK"],
    ];
    for (const [status, code] of codes) {
      const metadata = new grpc.Metadata();
      metadata.set("resonate-code", code);
      const back = fromServiceError({ code: grpcCodeOf({ status, code }), details: "x", metadata });
      expect([back.status, back.code]).toEqual([status, code]);
    }
  });
});
