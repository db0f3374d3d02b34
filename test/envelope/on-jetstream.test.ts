// The whole envelope suite again, unchanged, on a node whose records live on
// a real nats-server (one for this file, 4 partitions per node). The imported
// files register their tests here; the helpers read the engine when each
// node starts.

import { useEngine } from "../support/mesh-node.ts";

useEngine("jetstream");

await import("./kinds.test.ts");
await import("./bad-input.test.ts");
await import("./compare.test.ts");
await import("./sse.test.ts");
await import("./fulfill-writes.test.ts");
