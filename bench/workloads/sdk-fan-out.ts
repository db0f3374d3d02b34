// W2 of ../shared/reference/peers.md with our SDK: a workflow runs 20 durable
// steps in parallel (ctx.run(...).spawn()) and sums their results.

import { Resonate, type Context } from "@resonate-mesh/sdk";
import { closedLoop } from "../lib/measure.ts";
import type { Workload } from "../lib/types.ts";

async function item(_ctx: Context, i: number) {
  return i;
}

async function fanOut(ctx: Context, n: number) {
  const futures = [];
  for (let i = 0; i < n; i++) futures.push(await ctx.run(item, i).spawn());
  let sum = 0;
  for (const f of futures) sum += await f.result();
  return sum;
}

export const workload: Workload = {
  name: "sdk W2 fan-out 20",
  operation: "resonate.run of a workflow of 20 parallel ctx.run steps, summed (one worker process)",
  concurrency: [16],
  run: async (ctx) => {
    const resonate = new Resonate({ url: `http://${ctx.address}`, group: "bench-w2" });
    resonate.register(fanOut);
    try {
      return await closedLoop(ctx, (index) => ({
        op: async (seq) => {
          const result = await resonate.run(`${ctx.prefix}-${index}-${seq}`, fanOut, 20);
          if (result !== 190) throw new Error(`wrong result ${result}`);
        },
        close: () => undefined,
      }));
    } finally {
      await resonate.stop();
    }
  },
};
