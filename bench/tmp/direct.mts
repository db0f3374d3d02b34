// experiment: plain grpc-js over a raw net socket injection vs direct client latency
import net from "node:net";
import { MeshNode } from "../../node/src/mesh/node.ts";
import { MemoryStore } from "../../node/src/store/memory.ts";
import { createGrpcServer } from "../../node/src/api/grpc/server.ts";
import { workload } from "../workloads/create-settle.ts";
const node = new MeshNode({ store: new MemoryStore() });
await node.start();
const g = createGrpcServer({ engine: node });
const mode = process.argv[2] ?? "inject";
const listener = net.createServer({ noDelay: true }, (socket) => g.injectConnection(socket));
await new Promise<void>((r) => listener.listen(18666, "127.0.0.1", () => r()));
for (const c of [1, 64]) {
  const r = await workload.run({ address: "127.0.0.1:18666", concurrency: c, durationMs: 3000, warmupMs: 500, prefix: `x${c}` });
  console.log(mode, c, Math.round(r.ops * 1000 / r.elapsedMs), "ops/s");
}
process.exit(0);
