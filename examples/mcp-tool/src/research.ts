// The durable workflow behind the MCP tool: two steps, each a ctx.run
// checkpoint. A crash between them costs only the step that was running.

import type { Context } from "@resonate-mesh/sdk";

const STEP_MS = Number(process.env.STEP_MS ?? 3_000);
const pause = () => new Promise((resolve) => setTimeout(resolve, STEP_MS));

async function gatherSources(ctx: Context, topic: string): Promise<string[]> {
  console.log(`[worker] ${ctx.parentId}: gathering sources on "${topic}"`);
  await pause(); // a stand-in for searching, fetching, ranking
  return [`${topic}: an overview`, `${topic} in practice`, `${topic}: pitfalls`];
}

async function summarize(ctx: Context, topic: string, sources: string[]): Promise<string> {
  console.log(`[worker] ${ctx.parentId}: summarizing ${sources.length} sources`);
  await pause(); // a stand-in for an LLM call
  return `Research on "${topic}" from ${sources.length} sources: ${sources.join("; ")}.`;
}

/** Registered as "research"; the MCP server starts it with resonate.rpc. */
export async function research(ctx: Context, topic: string): Promise<string> {
  const sources = await ctx.run(gatherSources, topic);
  const summary = await ctx.run(summarize, topic, sources);
  console.log(`[worker] ${ctx.id}: done`);
  return summary;
}
