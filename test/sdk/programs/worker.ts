// A worker process for the SDK's end-to-end and crash tests. It appends one
// line per side effect to $EFFECTS, so a test can count what ran, and where.
//   RESONATE_URL  the node        GROUP  its group       TTL  lease in ms
//   HANG=1        the step "slow" never finishes here (the test kills this process)

import { appendFileSync } from "node:fs";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { announceReady } from "./serve.ts";

const effects = process.env.EFFECTS ?? "/dev/null";
const hang = process.env.HANG === "1";
const resonate = new Resonate({ group: process.env.GROUP ?? "workers", ttl: Number(process.env.TTL ?? 1500) });
const pid = resonate.pid;

function effect(line: string): void {
  appendFileSync(effects, `${line}\n`);
}

async function charge(ctx: Context, order: string) {
  effect(`charge ${ctx.id}`);
  return `charged ${order}`;
}

async function slow(ctx: Context, order: string) {
  effect(`slow-start ${ctx.id} ${pid}`);
  if (hang) await new Promise(() => undefined);
  await new Promise((r) => setTimeout(r, 50));
  effect(`slow-done ${ctx.id} ${pid}`);
  return `shipped ${order}`;
}

async function pipeline(ctx: Context, order: string) {
  const a = await ctx.run(charge, order);
  const b = await ctx.run(slow, order);
  return `${a}; ${b}`;
}

async function mark(ctx: Context, label: string) {
  effect(`${label} ${ctx.id} ${pid}`);
}

async function napper(ctx: Context, ms: number) {
  const started = await ctx.now();
  await ctx.run(mark, "nap-start");
  await ctx.sleep(ms);
  await ctx.run(mark, "nap-end");
  return (await ctx.now()) - started;
}

async function work(ctx: Context, i: number) {
  effect(`work ${i} ${pid}`);
  await new Promise((r) => setTimeout(r, 5));
  return i * 2;
}

resonate.register(pipeline);
resonate.register(charge);
resonate.register(slow);
resonate.register(napper);
resonate.register(work);

await announceReady(resonate);
