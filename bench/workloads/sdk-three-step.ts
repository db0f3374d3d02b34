// W1 of ../shared/reference/peers.md with our SDK: a workflow runs three
// durable steps one after another and returns their concatenation. The
// client runs it here (`resonate.run`): task.create, one fenced create of an
// already-settled promise per step, the last one carried by task.fulfill
// (four round trips: sdk/CORE.md rule 11).

import { Resonate, type Context } from "@resonate-mesh/sdk";
import { closedLoop } from "../lib/measure.ts";
import type { Workload } from "../lib/types.ts";

async function step(_ctx: Context, i: number) {
  return `s${i}`;
}

async function threeStep(ctx: Context) {
  const a = await ctx.run(step, 1);
  const b = await ctx.run(step, 2);
  const c = await ctx.run(step, 3);
  return a + b + c;
}

export const workload: Workload = {
  name: "sdk W1 three-step",
  operation: "resonate.run of a workflow of 3 sequential ctx.run steps, awaited (one worker process)",
  concurrency: [1, 64],
  run: async (ctx) => {
    const resonate = new Resonate({ url: `http://${ctx.address}`, group: "bench-w1" });
    resonate.register(threeStep);
    try {
      return await closedLoop(ctx, (index) => ({
        op: async (seq) => {
          const result = await resonate.run(`${ctx.prefix}-${index}-${seq}`, threeStep);
          if (result !== "s1s2s3") throw new Error(`wrong result ${result}`);
        },
        close: () => undefined,
      }));
    } finally {
      await resonate.stop();
    }
  },
};
