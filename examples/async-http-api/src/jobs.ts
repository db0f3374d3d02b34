// The durable work behind the gateway: a job of three steps, each a ctx.run
// checkpoint. A worker that dies mid-job is replaced by another (or by itself,
// restarted), which replays the finished steps from their promises and runs
// only the rest.

import type { Context } from "@resonate-mesh/sdk";

export interface JobInput {
  /** The text to analyse. */
  text: string;
}

export interface JobResult {
  words: number;
  longest: string;
  summary: string;
}

/** How long each step pretends to work, so there is time to kill the worker mid-job. */
const STEP_MS = Number(process.env.STEP_MS ?? 3_000);

async function work(jobId: string, step: string): Promise<void> {
  console.log(`[worker] ${jobId}: ${step} running`);
  await new Promise((resolve) => setTimeout(resolve, STEP_MS));
  console.log(`[worker] ${jobId}: ${step} done`);
}

async function tokenize(ctx: Context, jobId: string, text: string): Promise<string[]> {
  await work(jobId, "step 1/3 tokenize");
  return text.split(/\s+/).filter((w) => w.length > 0);
}

async function analyse(ctx: Context, jobId: string, words: string[]): Promise<{ words: number; longest: string }> {
  await work(jobId, "step 2/3 analyse");
  const longest = words.reduce((a, b) => (b.length > a.length ? b : a), "");
  return { words: words.length, longest };
}

async function summarise(ctx: Context, jobId: string, stats: { words: number; longest: string }): Promise<string> {
  await work(jobId, "step 3/3 summarise");
  return `${stats.words} words; the longest is "${stats.longest}"`;
}

/** Registered as "processJob"; the gateway starts it by name with resonate.rpc. */
export async function processJob(ctx: Context, input: JobInput): Promise<JobResult> {
  const words = await ctx.run(tokenize, ctx.id, input.text);
  const stats = await ctx.run(analyse, ctx.id, words);
  const summary = await ctx.run(summarise, ctx.id, stats);
  return { ...stats, summary };
}
