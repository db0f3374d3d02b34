// A worker process for the speculative-continuation crash test. Its step
// `pick` draws a random number (so a step run twice shows which run a result
// used); every side effect is a line in $EFFECTS.
//   RESONATE_URL  the node     GROUP  its group     TTL  lease in ms
//   HOLD_WRITES    fenced writes are never answered here (the test kills the
//                  worker meanwhile): "unsent" never sends them, "unanswered"
//                  sends them and drops the node's answer

import { appendFileSync } from "node:fs";
import { Resonate, type Context, type Transport } from "@resonate-mesh/sdk";
import { announceReady } from "./serve.ts";

const effects = process.env.EFFECTS ?? "/dev/null";
const hold = process.env.HOLD_WRITES;
const options = { group: process.env.GROUP ?? "workers", ttl: Number(process.env.TTL ?? 1500) };

/** Passes every request through, except that fenced writes are never answered (and, "unsent", never sent). */
function holdingWrites(inner: Transport): Transport {
  return {
    mode: inner.mode,
    send(request) {
      const writes =
        request.kind === "task.fence" || request.kind === "task.fence_batch" || (request.kind === "task.fulfill" && "actions" in request.data);
      if (!writes) return inner.send(request);
      if (hold === "unsent") return new Promise(() => undefined);
      return inner.send(request).then(() => new Promise(() => undefined));
    },
    subscribe: (group, pid, onMessage, onReconnect) => inner.subscribe(group, pid, onMessage, onReconnect),
    close: () => inner.close(),
  };
}

// The SDK's own gRPC transport (from a client that is never started), wrapped.
const resonate = hold !== undefined ? new Resonate({ ...options, transport: holdingWrites(new Resonate(options).transport) }) : new Resonate(options);
const pid = resonate.pid;

function effect(line: string): void {
  appendFileSync(effects, `${line}\n`);
}

async function pick(ctx: Context) {
  const n = Math.floor(Math.random() * 1e9);
  effect(`pick ${ctx.id} ${n} ${pid}`);
  return n;
}

async function double(ctx: Context, n: number) {
  effect(`double ${ctx.id} ${n} ${pid}`);
  return 2 * n;
}

async function lottery(ctx: Context) {
  const n = await ctx.run(pick);
  effect(`root-saw ${n} ${pid}`);
  return await ctx.run(double, n);
}

resonate.register(lottery);
resonate.register(pick);
resonate.register(double);

await announceReady(resonate);
