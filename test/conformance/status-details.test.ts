// Errors other languages can read (issue 11): besides the resonate-code and
// resonate-field trailers, every error carries the standard rich status
// (grpc-status-details-bin = google.rpc.Status) with a google.rpc.ErrorInfo
// (reason = the stable code, domain resonate.mesh) and, for bad input, a
// google.rpc.BadRequest field violation. Decoded here with the generated types.

import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { describe, expect, test } from "vitest";
import { ERROR_DOMAIN, STATUS_DETAILS_METADATA } from "@resonate-mesh/node/client";
import { BadRequestSchema, ErrorInfoSchema } from "@resonate-mesh/node/proto";
import { StatusSchema, type Status } from "@resonate-mesh/node/proto";
import { HOUR, T0, expectInvalid, expectStatus, grpc, nodePerTest, target } from "./harness.ts";

const n = nodePerTest();

function richStatusOf(err: grpc.ServiceError): Status {
  const raw = err.metadata.get(STATUS_DETAILS_METADATA);
  expect(raw).toHaveLength(1);
  return fromBinary(StatusSchema, raw[0] as Buffer);
}

describe("the rich status", () => {
  test("has the call's code and message", async () => {
    const err = await expectStatus(n.promises.get({ id: "nowhere" }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND");
    const status = richStatusOf(err);
    expect(status.code).toBe(grpc.status.NOT_FOUND);
    expect(status.message).toBe(err.details);
  });

  test("carries an ErrorInfo whose reason is the stable code", async () => {
    await n.promises.create({ id: "job", timeoutAt: BigInt(T0 + HOUR), tags: target("g") });
    const err = await expectStatus(
      n.tasks.acquire({ id: "job", version: 7n, pid: "w1", ttl: 1_000n }),
      grpc.status.ABORTED,
      "TASK_VERSION_MISMATCH",
    );
    const info = anyUnpack(richStatusOf(err).details[0]!, ErrorInfoSchema);
    expect(info).toMatchObject({ reason: "TASK_VERSION_MISMATCH", domain: ERROR_DOMAIN, metadata: { status: "409" } });
  });

  test("bad input adds a BadRequest field violation naming the field and the rule", async () => {
    const err = await expectInvalid(n.promises.create({ id: "", timeoutAt: BigInt(T0 + HOUR) }), "id");
    const [info, badRequest] = richStatusOf(err).details;
    expect(anyUnpack(info!, ErrorInfoSchema)).toMatchObject({
      reason: "INVALID_ARGUMENT",
      domain: ERROR_DOMAIN,
      metadata: { status: "400", field: "id" },
    });
    const violations = anyUnpack(badRequest!, BadRequestSchema)!.fieldViolations;
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ field: "id", description: err.details, reason: "INVALID_ARGUMENT" });
  });

  test("an error that is not about input has no BadRequest", async () => {
    const err = await expectStatus(n.tasks.get({ id: "nowhere" }), grpc.status.NOT_FOUND, "TASK_NOT_FOUND");
    const details = richStatusOf(err).details;
    expect(details.map((d) => d.typeUrl)).toEqual(["type.googleapis.com/google.rpc.ErrorInfo"]);
  });
});
