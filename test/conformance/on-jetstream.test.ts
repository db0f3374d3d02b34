// The whole gRPC conformance suite again, unchanged, on a node whose records
// live on a real nats-server (one for this file, 4 partitions per node).
// The imported files register their tests here; the harness reads the engine
// when each node starts.

import { useEngine } from "../support/mesh-node.ts";

useEngine("jetstream");

await import("./promises.test.ts");
await import("./tasks.test.ts");
await import("./schedules.test.ts");
await import("./bad-input.test.ts");
await import("./server.test.ts");
