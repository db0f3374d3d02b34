// Fire many rpcs at the group at once and wait for all of them:
//   npx tsx src/client.ts [count] [batch]
// Each task is its own durable promise `<batch>-<n>`; the node hands each to
// some worker of "workers" and, if that worker dies, to another one.

import { Resonate } from "@resonate-mesh/sdk";
import type { Answer } from "./compute.ts";

const count = Number(process.argv[2] ?? 12);
const batch = process.argv[3] ?? `batch-${Date.now()}`;
if (!Number.isInteger(count) || count < 1) {
  console.error("usage: npx tsx src/client.ts [count] [batch]");
  process.exit(2);
}

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001", group: "client" });

const handles = await Promise.all(
  Array.from({ length: count }, (_, n) => resonate.rpc<Answer>(`${batch}-${n}`, "compute", n).target("poll://any@workers").spawn()),
);
console.log(`sent ${count} tasks as ${batch}-0 .. ${batch}-${count - 1}`);

const served = new Map<string, number>();
await Promise.all(
  handles.map(async (handle) => {
    const answer = await handle.result();
    console.log(`${handle.id}: ${answer.n} * ${answer.n} = ${answer.square} (by ${answer.worker})`);
    served.set(answer.worker, (served.get(answer.worker) ?? 0) + 1);
  }),
);

const summary = [...served].sort(([a], [b]) => a.localeCompare(b)).map(([w, n]) => `${w}: ${n}`).join(", ");
console.log(`all ${count} done; ${summary}`);

await resonate.stop();
