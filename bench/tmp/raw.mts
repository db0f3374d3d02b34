import * as grpc from "@grpc/grpc-js";
import { addService, createClient } from "../../node/src/api/grpc/service.ts";
import { PromiseService } from "../../node/src/gen/resonate/mesh/v1/promise_service_pb.ts";
const server = new grpc.Server();
addService(server, PromiseService, { get: (call: any, cb: any) => cb(null, { promise: { id: call.request.id } }) } as any);
const port = await new Promise<number>((r, j) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
const client = createClient(PromiseService, `127.0.0.1:${port}`) as any;
for (let round = 0; round < 2; round++) {
  let n = 0; const t0 = performance.now();
  while (performance.now() - t0 < 2000) { await client.get({ id: "x" }); n++; }
  console.log("sequential unary/s", Math.round(n / 2));
  n = 0; const t1 = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => { while (performance.now() - t1 < 2000) { await client.get({ id: "x" }); n++; } }));
  console.log("64 in flight unary/s", Math.round(n / 2));
}
process.exit(0);
