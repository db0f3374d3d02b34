// W1 of ../shared/reference/peers.md driven by the official Resonate
// TypeScript SDK (@resonatehq/sdk 0.11.5, unmodified, over the JSON envelope
// protocol): the same three sequential steps as "sdk W1 three-step", so the
// node's cost shows apart from our SDK's. The SDK runs the workflow here
// (`resonate.run`: task.create, one fenced create per step, task.fulfill).
// Node 20 lacks Promise.withResolvers, which the SDK expects from Node 22;
// the shim the official-SDK tests use supplies it.

import "../../test/official-sdk/with-resolvers.ts";
import { Resonate, type Context } from "@resonatehq/sdk";
import { closedLoop } from "../lib/measure.ts";
import type { Workload } from "../lib/types.ts";

function step(_ctx: Context, i: number): string {
  return `s${i}`;
}

function* threeStep(ctx: Context): Generator<any, string, any> {
  const a: string = yield* ctx.run(step, 1);
  const b: string = yield* ctx.run(step, 2);
  const c: string = yield* ctx.run(step, 3);
  return a + b + c;
}

export const workload: Workload = {
  name: "official SDK W1 three-step",
  operation: "the official TypeScript SDK's resonate.run of the same 3-step workflow (JSON envelope over HTTP/1.1)",
  concurrency: [1, 64],
  run: async (ctx) => {
    const resonate = new Resonate({ url: `http://${ctx.address}`, group: "bench-official-w1" });
    resonate.register("threeStep", threeStep);
    try {
      return await closedLoop(ctx, (index) => ({
        op: async (seq) => {
          const result = await resonate.run(`${ctx.prefix}-${index}-${seq}`, "threeStep");
          if (result !== "s1s2s3") throw new Error(`wrong result ${String(result)}`);
        },
        close: () => undefined,
      }));
    } finally {
      await resonate.stop();
    }
  },
};
