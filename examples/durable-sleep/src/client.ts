// Start sleeping_workflow on the "workers" group and wait for its result:
//   npx tsx src/client.ts [seconds] [id]
// The id names the execution: run the client again with the same id while it
// sleeps and it attaches to the same workflow instead of starting a new one.

import { Resonate } from "@resonate-mesh/sdk";

const secs = Number(process.argv[2] ?? 5);
const id = process.argv[3] ?? "sleep-workflow-1";
if (!(secs >= 0)) {
  console.error("usage: npx tsx src/client.ts [seconds] [id]");
  process.exit(2);
}

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001", group: "client" });

const started = Date.now();
const handle = await resonate.rpc<string>(id, "sleeping_workflow", secs).target("poll://any@workers").spawn();
console.log(`Started ${handle.id}; waiting for it...`);

const result = await handle.result();
console.log(`${result} (done ${((Date.now() - started) / 1_000).toFixed(1)} s after the client started)`);

await resonate.stop();
