// One worker of group "workers": `npx tsx src/worker.ts worker-a`. Run three
// with different names. The node hands each task to one live worker of the
// group; the name is only there so you can tell them apart.

import { Resonate } from "@resonate-mesh/sdk";
import { compute } from "./compute.ts";

const name = process.argv[2] ?? `worker-${process.pid}`;

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  group: "workers",
  pid: name,
  // A killed worker's tasks go to the others once their lease (ttl) runs out.
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(compute(name), { name: "compute" });
console.log(`[${name}] started in group "workers". Waiting for tasks...`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void resonate.stop().then(() => process.exit(0)));
}
