// Server reflection (grpc.reflection.v1 and v1alpha), so grpcurl and buf curl
// work without .proto files. @grpc/reflection reads a proto-loader style
// package definition; all it uses is each entry's `fileDescriptorProtos`
// (serialized FileDescriptorProto), which protobuf-es has for every file we
// generated.

import { toBinary } from "@bufbuild/protobuf";
import type { DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.ts";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import { file_resonate_mesh_v1_promise_service } from "../../gen/resonate/mesh/v1/promise_service_pb.ts";
import { file_resonate_mesh_v1_schedule_service } from "../../gen/resonate/mesh/v1/schedule_service_pb.ts";
import { file_resonate_mesh_v1_task_service } from "../../gen/resonate/mesh/v1/task_service_pb.ts";

/** The files whose services the node serves, with every file they import. */
const SERVED_FILES: DescFile[] = [
  file_resonate_mesh_v1_promise_service,
  file_resonate_mesh_v1_task_service,
  file_resonate_mesh_v1_schedule_service,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
];

function withDependencies(files: DescFile[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (seen.has(file.name)) return;
    seen.set(file.name, file);
    file.dependencies.forEach(visit);
  };
  files.forEach(visit);
  return [...seen.values()];
}

export function addReflection(server: grpc.Server): void {
  const fileDescriptorProtos = withDependencies(SERVED_FILES).map((file) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)),
  );
  // One entry is enough: the implementation indexes every descriptor of every entry.
  const packageDefinition = { "resonate.mesh.v1": { format: "Protocol Buffer 3 DescriptorProto", fileDescriptorProtos } };
  new ReflectionService(packageDefinition as never).addToServer(server);
}
