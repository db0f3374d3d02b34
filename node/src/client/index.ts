// @resonate-mesh/node/client: talking to a node over gRPC in protocol types.
// The wire codec (protobuf <-> protocol records), the status mapping (gRPC
// status + trailing metadata <-> protocol errors) and the gRPC client stack
// the SDK and the CLI share.

export * from "../api/grpc/convert.ts";
export {
  CODE_METADATA,
  ERROR_DOMAIN,
  FIELD_METADATA,
  INNER_KIND_METADATA,
  STATUS_DETAILS_METADATA,
  fromServiceError,
  grpcCodeOf,
} from "../api/grpc/status.ts";
export { methodPath } from "../api/grpc/service.ts";
export { RawUnaryChannel } from "./raw-channel.ts";
export { UnaryChannel, type ClientTlsOptions, type UnaryCallError, type UnaryCallOptions, type UnaryChannelOptions } from "../api/grpc/unary-channel.ts";
export {
  endpointOf,
  readClientTls,
  NoAnswerError,
  NodeClient,
  type GrpcCallError,
  type NodeClientOptions,
  type OpenStream,
  type StreamHandlers,
} from "./node-client.ts";
/** gRPC status codes, as GrpcCallError.code carries them. */
export { status as GrpcStatus } from "@grpc/grpc-js";
