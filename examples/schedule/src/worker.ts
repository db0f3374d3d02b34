// A worker of group "workers". Every tick of the schedule is a durable promise
// that goes to any one worker of the group; run two and kill one mid-tick.

import { Resonate } from "@resonate-mesh/sdk";
import { sendReport } from "./report.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  group: "workers",
  pid: process.env.WORKER_PID, // unset: a random one
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(sendReport, { name: "sendReport" });
console.log(`[worker] ${resonate.pid} ready in group "workers"`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void resonate.stop().then(() => process.exit(0));
  });
}
