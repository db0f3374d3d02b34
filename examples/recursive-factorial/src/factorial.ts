// One function that is both the orchestrator and the unit of recursion.
//
// Every call is a durable promise, and we choose its id: `factorial-{n}`. A
// promise id names a result forever, so a call whose promise already exists
// returns the recorded value without running: factorial(8) after factorial(5)
// computes 8, 7 and 6, then finds `factorial-5` already resolved.

import type { Context } from "@resonate-mesh/sdk";

export const GROUP = "factorial-workers";

export async function factorial(ctx: Context, n: number): Promise<number> {
  console.log(`Calculating factorial(${n})`);
  if (n <= 1) return 1;
  const result = await ctx
    .rpc<number>("factorial", n - 1)
    // Without .id() the child would be named after its parent (`factorial-8.0`),
    // a cache entry no other computation could find.
    .id(`factorial-${n - 1}`)
    .target(`poll://any@${GROUP}`);
  return n * result;
}
