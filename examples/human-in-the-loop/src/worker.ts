// A worker of group "workers" that runs the approval workflow. Kill it while
// an expense waits for approval: the workflow waits on the node, not here.

import { Resonate } from "@resonate-mesh/sdk";
import { approveExpense } from "./workflow.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  group: "workers",
  // A crashed worker's work goes to the next one once its lease (ttl) runs out.
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(approveExpense, { name: "approve_expense" });
console.log(`Worker ${resonate.pid} started in group "workers". Waiting for invocations...`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void resonate.stop().then(() => process.exit(0)));
}
