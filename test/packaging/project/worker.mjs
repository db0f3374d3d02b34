// The hello-world worker in plain JavaScript, as a user writes it after
// `npm install @resonate-mesh/sdk`: no TypeScript, no loader.
import { Resonate } from "@resonate-mesh/sdk";

export async function greet(ctx, name) {
  return await ctx.run(formatGreeting, name);
}

export async function formatGreeting(_ctx, name) {
  console.log(`format_greeting(${JSON.stringify(name)})`);
  return `Hello, ${name}! Welcome to durable execution.`;
}

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001" });
resonate.register(greet, { name: "greet" });
resonate.register(formatGreeting, { name: "format_greeting" });
console.log("Worker started. Waiting for invocations...");

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => void resonate.stop().then(() => process.exit(0)));
}
