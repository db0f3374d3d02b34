// @resonate-mesh/node/internal-for-tests: internals the repository's
// cross-package tests (test/, examples/*/test) check directly: the JSON
// envelope adapter, the raw grpc-js service helpers, metrics and the CLI's
// parts. Not an API: anything here may change without notice.

export { addService, createClient, type CallOptions, type ServiceClient } from "./api/grpc/service.ts";
export { decodeEnvelope, EnvelopeError, isDebug } from "./api/http/decode.ts";
export { encodeResponse } from "./api/http/envelope.ts";
export { toWireMessage } from "./api/http/wire.ts";
export { parseJson, stringifyJson } from "./api/http/json.ts";
export type { SseOptions } from "./api/http/sse.ts";
export { createMetrics } from "./api/metrics.ts";
export { buildProgram } from "./cli/program.ts";
export { RefusedError, UsageError } from "./cli/errors.ts";
export * from "./cli/format.ts";
export { invokeRequest, normalizeTarget, type InvokeOptions } from "./cli/commands/invoke.ts";
export { connect, describeGrpcError, parseServer, type CliClient } from "./cli/client.ts";
export { classifyFirstBytes } from "./api/server.ts";
export { ownerOf } from "./mesh/ownership.ts";
