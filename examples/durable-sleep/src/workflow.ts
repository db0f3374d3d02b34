// A workflow that sleeps. `ctx.sleep` creates a timer promise on the node and
// suspends the workflow: no process holds the wait. When the timer fires, the
// node hands the workflow to any worker of the group, which replays it from
// the top; the sleep is already resolved, so it goes straight on.

import type { Context } from "@resonate-mesh/sdk";

export async function sleepingWorkflow(ctx: Context, secs: number): Promise<string> {
  // Printed on the first run and again on the replay after the timer fired.
  console.log(`[${ctx.id}] Sleeping for ${secs} seconds...`);

  await ctx.sleep(secs * 1_000);

  console.log(`[${ctx.id}] Woke up`);
  return `Slept for ${secs} seconds`;
}
