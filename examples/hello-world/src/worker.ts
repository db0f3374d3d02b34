// The worker: it registers both functions under the names the CLI uses and
// waits for work. Run it with `npx tsx src/worker.ts`.

import { Resonate } from "@resonate-mesh/sdk";
import { formatGreeting, greet } from "./greet.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  // A crashed worker's work goes to the next one once its lease (ttl) runs out.
  ttl: Number(process.env.WORKER_TTL_MS ?? 10_000),
});

resonate.register(greet, { name: "greet" });
resonate.register(formatGreeting, { name: "format_greeting" });

// Keep the process alive to receive work from the node.
console.log("Worker started. Waiting for invocations...");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void resonate.stop().then(() => process.exit(0)));
}
