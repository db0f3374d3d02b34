// The SDK's declarations as a TypeScript user sees them: compiled with
// `tsc --noEmit`, this must pass, and the lines marked @ts-expect-error must
// be errors (so the types are real, not `any`).
import { Resonate, type Context, type RetryPolicy } from "@resonate-mesh/sdk";

async function formatGreeting(_ctx: Context, name: string): Promise<string> {
  return `Hello, ${name}!`;
}

export async function greet(ctx: Context, name: string): Promise<string> {
  const greeting: string = await ctx.run(formatGreeting, name);
  const later = await ctx.run(formatGreeting, name).spawn();
  await ctx.sleep(1_000);
  // @ts-expect-error: formatGreeting takes a string
  await ctx.run(formatGreeting, 42);
  return greeting + (await later);
}

const resonate = new Resonate({ url: "http://localhost:8001" });
resonate.register(greet, { name: "greet" });
const policy: RetryPolicy | undefined = undefined;
void policy;
export const result: PromiseLike<string> = resonate.run("greet-1", greet, "World");
// @ts-expect-error: greet returns a string, not a number
export const wrong: PromiseLike<number> = resonate.run("greet-2", greet, "World");
