// @resonate-mesh/node/proto: the generated protobuf-es code of the public API
// (package resonate.mesh.v1) and grpc.health.v1, for callers that speak
// protobuf directly.

export * from "./resonate/mesh/v1/records_pb.ts";
export * from "./resonate/mesh/v1/promise_service_pb.ts";
export * from "./resonate/mesh/v1/task_service_pb.ts";
export * from "./resonate/mesh/v1/schedule_service_pb.ts";
export * from "./grpc/health/v1/health_pb.ts";
