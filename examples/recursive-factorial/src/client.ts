// Compute factorial(n) on the worker group: `npx tsx src/client.ts 5`.
// The promise id is `factorial-{n}`, so asking again returns the stored result.

import { Resonate } from "@resonate-mesh/sdk";
import { GROUP } from "./factorial.ts";

const n = Number(process.argv[2] ?? 5);
if (!Number.isInteger(n) || n < 0 || n > 170) {
  console.error("usage: npx tsx src/client.ts <n>   (a whole number from 0 to 170)");
  process.exit(2);
}

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001", group: "client" });

const started = Date.now();
const result = await resonate.rpc<number>(`factorial-${n}`, "factorial", n).target(`poll://any@${GROUP}`);
console.log(`factorial(${n}) = ${result} (${Date.now() - started} ms)`);

await resonate.stop();
