// A worker written with our SDK (@resonate-mesh/sdk), connected to the same
// node as the official-SDK workers, for the cross-SDK tests. Environment:
//   RESONATE_URL  the node;  GROUP  worker group (default "ours");
//   EFFECTS       file every side effect appends one line to;
//   OFFICIAL      the group of the official-SDK workers (default "workers").
import { appendFileSync } from "node:fs";
import { Resonate, type Context } from "@resonate-mesh/sdk";

const group = process.env.GROUP ?? "ours";
const official = process.env.OFFICIAL ?? "workers";
const record = (line: string) => {
  if (process.env.EFFECTS) appendFileSync(process.env.EFFECTS, `${line}\n`);
};

const resonate = new Resonate({ url: process.env.RESONATE_URL, group, ttl: 2_000 });

function oursAdd(ctx: Context, a: number, b: number): number {
  record(`ours-add ${ctx.id}`);
  return a + b;
}

async function oursCallsOfficial(ctx: Context, name: string): Promise<string> {
  const greeting = await ctx.rpc<string>("greet", name).target(`poll://any@${official}`);
  const sum = await ctx.rpc<number>("add", 2, 3).target(`poll://any@${official}`);
  return `${greeting} (${sum})`;
}

resonate.register(oursAdd, { name: "oursAdd" });
resonate.register(oursCallsOfficial, { name: "oursCallsOfficial" });

const stop = async () => {
  await resonate.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

console.log(`ready ${group} ${resonate.pid}`);
