// A worker of group "workers": it runs processJob whenever the node hands it
// one. Start as many as you like; kill any of them at any time.

import { Resonate } from "@resonate-mesh/sdk";
import { processJob } from "./jobs.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  group: "workers",
  // A dead worker's job goes to another one once its lease (ttl) runs out.
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(processJob, { name: "processJob" });
console.log(`[worker] ${resonate.pid} ready in group "workers"`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void resonate.stop().then(() => process.exit(0));
  });
}
