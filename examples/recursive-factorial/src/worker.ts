// A worker of group "factorial-workers". Start one or several: each recursive
// step goes to whichever of them is free.

import { Resonate } from "@resonate-mesh/sdk";
import { factorial, GROUP } from "./factorial.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  group: GROUP,
  // A crashed worker's step goes to another worker once its lease (ttl) runs out.
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(factorial, { name: "factorial" });
console.log(`Worker ${resonate.pid} started in group "${GROUP}". Waiting for invocations...`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void resonate.stop().then(() => process.exit(0)));
}
