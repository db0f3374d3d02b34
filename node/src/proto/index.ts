// @resonate-mesh/node/proto: the generated protobuf-es code of the public API
// (package resonate.mesh.v1) and grpc.health.v1, for callers that speak
// protobuf directly. (It lives beside gen/, which `buf generate` empties.)

export * from "../gen/resonate/mesh/v1/records_pb.ts";
export * from "../gen/resonate/mesh/v1/promise_service_pb.ts";
export * from "../gen/resonate/mesh/v1/task_service_pb.ts";
export * from "../gen/resonate/mesh/v1/schedule_service_pb.ts";
export * from "../gen/grpc/health/v1/health_pb.ts";
// The standard error details a refusal carries in grpc-status-details-bin.
export * from "../gen/google/rpc/status_pb.ts";
export * from "../gen/google/rpc/error_details_pb.ts";
