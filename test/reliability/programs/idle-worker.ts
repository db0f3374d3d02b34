// An idle worker as a user writes one: it registers its functions and waits
// for work, with no signal handling or reconnection code of its own (the SDK
// does both). It prints "started <pid>" at once, whether or not a node is up.
//   RESONATE_URL  the node     GROUP  its group     HOLD=1  "hold" never finishes here

import { Resonate, type Context } from "@resonate-mesh/sdk";

const resonate = new Resonate({
  group: process.env.GROUP ?? "idle",
  ttl: Number(process.env.TTL ?? 60_000),
  stopGraceMs: Number(process.env.STOP_GRACE_MS ?? 10_000),
});

async function greet(ctx: Context, name: string) {
  console.log(`ran ${resonate.pid} ${ctx.id}`);
  return `Hello, ${name}!`;
}

async function hold(_ctx: Context) {
  console.log(`holding ${resonate.pid}`);
  await new Promise(() => undefined);
}

resonate.register(greet, { name: "greet" });
resonate.register(hold, { name: "hold" });
console.log(`started ${resonate.pid}`);
