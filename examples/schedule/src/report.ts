// What every tick runs: a small report in two checkpointed steps. The tick's
// promise id (the schedule's name plus the tick's scheduled time) is ctx.id.

import type { Context } from "@resonate-mesh/sdk";

const DELIVER_MS = Number(process.env.DELIVER_MS ?? 3_000);

async function collectMetrics(ctx: Context, tick: string): Promise<{ signups: number }> {
  console.log(`[worker] ${tick}: collecting`);
  // A stand-in for a query: a number that depends on the tick's time.
  const scheduledAt = Number(tick.slice(tick.lastIndexOf("-") + 1));
  return { signups: Math.floor(scheduledAt / 1000) % 97 };
}

async function deliverReport(ctx: Context, tick: string, metrics: { signups: number }): Promise<string> {
  console.log(`[worker] ${tick}: delivering`);
  await new Promise((resolve) => setTimeout(resolve, DELIVER_MS));
  return `${metrics.signups} signups`;
}

/** Registered as "sendReport"; the schedule names it. */
export async function sendReport(ctx: Context, audience: string): Promise<string> {
  const metrics = await ctx.run(collectMetrics, ctx.id);
  const summary = await ctx.run(deliverReport, ctx.id, metrics);
  console.log(`[worker] ${ctx.id}: sent "${summary}" to ${audience}`);
  return summary;
}
