// A worker of group "workers" that runs the research workflow.

import { Resonate } from "@resonate-mesh/sdk";
import { research } from "./research.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  group: "workers",
  // A dead worker's workflow goes to another one once its lease (ttl) runs out.
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(research, { name: "research" });
console.log(`[worker] ${resonate.pid} ready in group "workers"`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void resonate.stop().then(() => process.exit(0));
  });
}
