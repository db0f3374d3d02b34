// Protocol errors <-> gRPC statuses (DESIGN.md rule 9). The message is the
// protocol's sentence; trailing metadata carries the stable code
// (`resonate-code`) and, for bad input, the field at fault (`resonate-field`),
// so clients can branch without parsing sentences. The same facts also travel
// as the standard rich status (`grpc-status-details-bin`: a google.rpc.Status
// with an ErrorInfo and, for bad input, a BadRequest), which stock gRPC
// libraries in other languages decode without knowing our metadata.

import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema, BadRequest_FieldViolationSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.ts";
import { StatusSchema } from "../../gen/google/rpc/status_pb.ts";
import type { ErrorCode, ErrorStatus, ProtocolError } from "../../protocol/types.ts";

export const CODE_METADATA = "resonate-code";
export const FIELD_METADATA = "resonate-field";
/**
 * On a failed TaskService.Fence whose inner create or settle failed (the
 * protocol answers those 200 with the failure inside): the inner kind, so a
 * client can rebuild the protocol's shape.
 */
export const INNER_KIND_METADATA = "resonate-inner-kind";
/** The trailer gRPC libraries read a google.rpc.Status from. */
export const STATUS_DETAILS_METADATA = "grpc-status-details-bin";
/** google.rpc.ErrorInfo.domain of every error the node sends; the reason is the stable code. */
export const ERROR_DOMAIN = "resonate.mesh";

/** The gRPC status of a protocol error. */
export function grpcCodeOf(error: Pick<ProtocolError, "status" | "code">): grpc.status {
  switch (error.status) {
    case 400:
      return grpc.status.INVALID_ARGUMENT;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.NOT_FOUND;
    case 409:
      // A stale version means "your attempt lost a race": retrying with fresh state may succeed.
      return error.code === "TASK_VERSION_MISMATCH" ? grpc.status.ABORTED : grpc.status.FAILED_PRECONDITION;
    case 422:
      return grpc.status.FAILED_PRECONDITION;
    case 429:
      return grpc.status.RESOURCE_EXHAUSTED;
    case 501:
      return grpc.status.UNIMPLEMENTED;
    case 503:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.INTERNAL;
  }
}

/**
 * A field path fit for an ASCII metadata value: a map key the client chose may
 * hold any character, and grpc-js throws on non-printable ones. They are
 * written as \uXXXX (the rich status details keep the path exactly).
 */
function asciiMetadata(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The error a server handler passes to its callback (or `call.destroy`/`emit("error")`). */
export function toServiceError(
  error: ProtocolError,
  innerKind?: string,
): Partial<grpc.StatusObject> & { code: grpc.status } {
  const metadata = new grpc.Metadata();
  metadata.set(CODE_METADATA, error.code);
  if (error.field !== undefined) metadata.set(FIELD_METADATA, asciiMetadata(error.field));
  if (innerKind !== undefined) metadata.set(INNER_KIND_METADATA, innerKind);
  const code = grpcCodeOf(error);
  metadata.set(STATUS_DETAILS_METADATA, Buffer.from(richStatus(code, error, innerKind)));
  return { code, details: error.message, metadata };
}

/**
 * The google.rpc.Status of a protocol error, serialized. ErrorInfo carries
 * the stable code as `reason` and, in `metadata`, the protocol status and
 * (when known) the field and the inner kind of a failed fence; bad input adds
 * a BadRequest field violation whose `field` is the dotted path of the
 * protocol's validation. Its code and message equal the call's, as gRPC
 * libraries require.
 */
export function richStatus(code: grpc.status, error: ProtocolError, innerKind?: string): Uint8Array {
  const info: Record<string, string> = { status: String(error.status) };
  if (error.field !== undefined) info["field"] = error.field;
  if (innerKind !== undefined) info["innerKind"] = innerKind;
  const details = [anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason: error.code, domain: ERROR_DOMAIN, metadata: info }))];
  if (error.status === 400 && error.field !== undefined) {
    const violation = create(BadRequest_FieldViolationSchema, { field: error.field, description: error.message, reason: error.code });
    details.push(anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: [violation] })));
  }
  return toBinary(StatusSchema, create(StatusSchema, { code, message: error.message, details }));
}

const statusOfCode: Record<ErrorCode, ErrorStatus> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  PROMISE_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  TASK_STATE_CONFLICT: 409,
  TASK_VERSION_MISMATCH: 409,
  TASK_ALREADY_EXISTS: 409,
  AWAITER_NOT_FOUND: 422,
  AWAITER_NOT_TARGETED: 422,
  PROMISE_WITHOUT_TASK: 422,
  AWAITED_NOT_FOUND: 422,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
};

function fromGrpcCode(code: grpc.status): { status: ErrorStatus; code: ErrorCode } {
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
      return { status: 400, code: "INVALID_ARGUMENT" };
    case grpc.status.UNAUTHENTICATED:
      return { status: 401, code: "UNAUTHENTICATED" };
    case grpc.status.PERMISSION_DENIED:
      return { status: 403, code: "PERMISSION_DENIED" };
    case grpc.status.NOT_FOUND:
      return { status: 404, code: "PROMISE_NOT_FOUND" };
    case grpc.status.ABORTED:
      return { status: 409, code: "TASK_VERSION_MISMATCH" };
    case grpc.status.FAILED_PRECONDITION:
      return { status: 409, code: "TASK_STATE_CONFLICT" };
    case grpc.status.RESOURCE_EXHAUSTED:
      return { status: 429, code: "RESOURCE_EXHAUSTED" };
    case grpc.status.UNIMPLEMENTED:
      return { status: 501, code: "INTERNAL" };
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.CANCELLED:
      return { status: 503, code: "UNAVAILABLE" };
    default:
      return { status: 500, code: "INTERNAL" };
  }
}

/**
 * Client side: a failed call as a protocol error. Uses `resonate-code` when
 * the node sent it; otherwise (transport failures, other servers) derives
 * status and code from the gRPC status: UNAVAILABLE, DEADLINE_EXCEEDED and
 * CANCELLED become 503 UNAVAILABLE, which callers treat as retryable.
 */
export function fromServiceError(error: Partial<grpc.ServiceError>): ProtocolError {
  const sent = error.metadata?.get(CODE_METADATA)[0];
  const field = error.metadata?.get(FIELD_METADATA)[0];
  const message = error.details || error.message || "the call failed";
  const known = typeof sent === "string" && sent in statusOfCode ? (sent as ErrorCode) : undefined;
  const { status, code } = known
    ? { status: statusOfCode[known], code: known }
    : fromGrpcCode(error.code ?? grpc.status.UNKNOWN);
  const result: ProtocolError = { status, code, message };
  if (typeof field === "string") result.field = field;
  return result;
}
