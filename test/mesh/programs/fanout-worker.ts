// A worker process for the mesh fault tests: a workflow that fans out to
// leaves on other workers; each leaf run appends one line to $EFFECTS
// ("leaf <id> <worker pid> <run> <started at ms>") before it completes, and
// returns its run's name: the settled value says which run completed (the
// node accepts the completion of the task's current holder only).
//   RESONATE_URL  the node   GROUP  its group   TTL  lease in ms   LEAF_MS  how long a leaf takes

import { appendFileSync } from "node:fs";
import { Resonate, type Context } from "@resonate-mesh/sdk";

const effects = process.env.EFFECTS ?? "/dev/null";
const leafMs = Number(process.env.LEAF_MS ?? 200);
const resonate = new Resonate({ group: process.env.GROUP ?? "workers", ttl: Number(process.env.TTL ?? 5000) });
const pid = resonate.pid;

let runs = 0;
async function leaf(ctx: Context, i: number): Promise<{ i: number; run: string }> {
  const run = `${pid}-${++runs}`;
  appendFileSync(effects, `leaf ${ctx.id} ${pid} ${run} ${Date.now()}\n`);
  await new Promise((r) => setTimeout(r, leafMs));
  return { i, run };
}

async function fanOut(ctx: Context, n: number): Promise<number> {
  const futures = [];
  for (let i = 0; i < n; i++) futures.push(await ctx.rpc<{ i: number; run: string }>("leaf", i).target("poll://any@leaves").spawn());
  let sum = 0;
  for (const f of futures) sum += (await f.result()).i;
  return sum;
}

async function ping(_ctx: Context): Promise<string> {
  return "pong";
}

resonate.register(leaf, { name: "leaf" });
resonate.register(fanOut, { name: "fanOut" });
resonate.register(ping, { name: "ping" });
// Ready means reachable: a call addressed to this process alone has come back.
await resonate.rpc(`ready-${pid}`, "ping").target(`poll://uni@${resonate.group}/${pid}`);
process.on("SIGTERM", () => {
  void resonate.stop().then(() => process.exit(0));
});
console.log(`ready ${pid}`);
