// The TypeScript worker of the polyglot example: group "ts-workers", runs
// the workflow "analyze".

import { Resonate } from "@resonate-mesh/sdk";
import { analyze } from "./analyze.ts";

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001", group: "ts-workers" });
resonate.register(analyze, { name: "analyze" });
console.log(`[ts worker] ${resonate.pid} ready in group "ts-workers"`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void resonate.stop().then(() => process.exit(0));
  });
}
