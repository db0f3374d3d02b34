// A worker written against the official Resonate TypeScript SDK, unmodified,
// as a Resonate user would write it. Configured by the environment:
//   RESONATE_URL  the node (read by the SDK itself)
//   GROUP         worker group (default "workers")
//   TTL           task lease in ms (default 2000, so a killed worker's lease ends quickly)
//   EFFECTS       file that every side effect appends one line to
//   HANG_AT       a step label at which this worker stops forever (to be killed there)
//   ADDERS        group that serves `add` for ctx.rpc (default "adders")
Promise.withResolvers ??= () => { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };

import { appendFileSync } from "node:fs";
import { Resonate } from "@resonatehq/sdk";

const group = process.env.GROUP ?? "workers";
const adders = process.env.ADDERS ?? "adders";
const effects = process.env.EFFECTS;
const record = (line) => {
  if (effects) appendFileSync(effects, `${line}\n`);
};

const resonate = new Resonate({ group, ttl: Number(process.env.TTL ?? 2000) });

function step(ctx, label, value) {
  record(`start ${label}`);
  if (process.env.HANG_AT === label) return new Promise(() => {});
  record(`done ${label}`);
  return value;
}

async function pause(ctx, label, ms) {
  record(`start ${label}`);
  await new Promise((r) => setTimeout(r, ms));
  record(`done ${label}`);
  return ms;
}

// One step that outlives the lease: only heartbeats keep the task held.
function* slow(ctx, ms) {
  return yield* ctx.run(pause, `${ctx.id}/pause`, ms);
}

function add(ctx, a, b) {
  record(`add ${ctx.id}`);
  return a + b;
}

function square(ctx, x) {
  record(`square ${ctx.id}`);
  return x * x;
}

function* greet(ctx, name) {
  const greeting = yield* ctx.run(step, `${ctx.id}/format`, `Hello, ${name}!`);
  return greeting;
}

// ctx.run, ctx.sleep and ctx.rpc to another group, in one workflow.
function* pipeline(ctx, n, sleepMs) {
  const a = yield* ctx.run(step, `${ctx.id}/one`, n + 1);
  yield* ctx.sleep(sleepMs);
  const b = yield* ctx.run(step, `${ctx.id}/two`, a * 2);
  return yield* ctx.rpc("add", b, 100, ctx.options({ target: adders }));
}

// Three steps, optionally with a durable sleep after the first.
function* steps(ctx, sleepMs) {
  const one = yield* ctx.run(step, `${ctx.id}/s1`, 1);
  if (sleepMs > 0) yield* ctx.sleep(sleepMs);
  const two = yield* ctx.run(step, `${ctx.id}/s2`, 2);
  const three = yield* ctx.run(step, `${ctx.id}/s3`, 3);
  return one + two + three;
}

// Fan-out: local children with beginRun, remote ones with beginRpc, then fan-in.
function* fanout(ctx, n) {
  const futures = [];
  for (let i = 0; i < n; i++) futures.push(yield* ctx.beginRun(square, i));
  for (let i = 0; i < n; i++) futures.push(yield* ctx.beginRpc("add", i, 1000, ctx.options({ target: adders })));
  let sum = 0;
  for (const future of futures) sum += yield* future;
  return sum;
}

// Human in the loop: a latent promise settled from outside.
function* approval(ctx) {
  const decision = yield* ctx.promise();
  record(`awaiting ${decision.id}`);
  const value = yield* decision;
  return `approved:${value}`;
}

// Calls a function served by a worker of our own SDK (cross-SDK).
function* callsOurs(ctx, a, b) {
  const sum = yield* ctx.rpc("oursAdd", a, b, ctx.options({ target: process.env.OURS ?? "ours" }));
  return `sum=${sum}`;
}

function tick(ctx, label) {
  record(`tick ${label} ${ctx.id}`);
  return label;
}

function fail(ctx, message) {
  throw new Error(message);
}

resonate.register("add", add);
resonate.register("square", square);
resonate.register("greet", greet);
resonate.register("pipeline", pipeline);
resonate.register("steps", steps);
resonate.register("slow", slow);
resonate.register("fanout", fanout);
resonate.register("approval", approval);
resonate.register("tick", tick);
resonate.register("callsOurs", callsOurs);
resonate.register("fail", fail, { version: 1 });

const stop = async () => {
  await resonate.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

console.log(`ready ${group} ${resonate.pid}`);
