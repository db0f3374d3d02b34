// @resonate-mesh/node/proto: the generated protobuf-es code of the public API
// (package resonate.mesh.v1) and grpc.health.v1, for callers that speak
// protobuf directly. (It lives beside gen/, which `buf generate` empties.)

export * from "../gen/resonate/mesh/v1/records_pb.ts";
export * from "../gen/resonate/mesh/v1/promise_service_pb.ts";
export * from "../gen/resonate/mesh/v1/task_service_pb.ts";
export * from "../gen/resonate/mesh/v1/schedule_service_pb.ts";
export * from "../gen/grpc/health/v1/health_pb.ts";
