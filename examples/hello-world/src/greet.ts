// A workflow and a leaf. `greet` receives a Context and composes durable calls;
// `formatGreeting` is plain computation. `ctx.run` records its result as a
// durable promise (a checkpoint): if the worker dies after it, a new worker
// replays `greet` and gets the recorded greeting without running the leaf again.

import type { Context } from "@resonate-mesh/sdk";

export async function greet(ctx: Context, name: string): Promise<string> {
  const greeting = await ctx.run(formatGreeting, name);
  return greeting;
}

export async function formatGreeting(_ctx: Context, name: string): Promise<string> {
  console.log(`format_greeting(${JSON.stringify(name)})`);
  return `Hello, ${name}! Welcome to durable execution.`;
}
