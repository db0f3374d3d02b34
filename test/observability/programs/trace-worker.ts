// A worker process for the trace test: a workflow with a local step and a
// remote one (executed by this same group), traced through the OTEL_*
// environment the test sets. Prints "ready" once its functions are registered.

import { Resonate, type Context } from "@resonate-mesh/sdk";

const group = process.env.TRACE_GROUP!;
const resonate = new Resonate({ url: process.env.RESONATE_URL!, group });

async function double(_ctx: Context, n: number): Promise<number> {
  return 2 * n;
}

async function square(_ctx: Context, n: number): Promise<number> {
  return n * n;
}

async function tracedWorkflow(ctx: Context, n: number): Promise<number> {
  const a = await ctx.run(double, n);
  const b = await ctx.rpc<number>("square", n).target(`poll://any@${group}`);
  return a + b;
}

resonate.register(double);
resonate.register(square);
resonate.register(tracedWorkflow);
// register() opened the stream; the test waits for the node to count this worker.
console.log("ready");
