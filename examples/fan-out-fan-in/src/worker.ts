// A worker of group "workers" that runs processBatch.

import { Resonate } from "@resonate-mesh/sdk";
import { processBatch } from "./batch.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  group: "workers",
  // A dead worker's batch goes to another one once its lease (ttl) runs out.
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(processBatch, { name: "processBatch" });
console.log(`[worker] ${resonate.pid} ready in group "workers"`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void resonate.stop().then(() => process.exit(0));
  });
}
