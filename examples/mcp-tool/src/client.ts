// A small MCP client, standing in for an AI app: it starts the server over
// stdio, lists its tools and calls "research" twice AT THE SAME TIME with the
// same topic. Watch the worker: the research runs once.
//   npx tsx src/client.ts "durable execution"

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";

const topic = process.argv[2] ?? "durable execution";

const transport = new StdioClientTransport({
  command: "npx",
  args: ["tsx", "src/server.ts"],
  // The server needs RESONATE_URL; an MCP client passes only a safe default environment.
  env: { ...getDefaultEnvironment(), ...(process.env.RESONATE_URL ? { RESONATE_URL: process.env.RESONATE_URL } : {}) },
  stderr: "inherit",
});
const client = new Client({ name: "research-demo", version: "0.1.0" });
await client.connect(transport);

const { tools } = await client.listTools();
console.log(`[client] tools: ${tools.map((t) => t.name).join(", ")}`);

const call = () => client.callTool({ name: "research", arguments: { topic } });
const [first, second] = await Promise.all([call(), call()]);
for (const [n, result] of [first, second].entries()) {
  const { promiseId, summary } = result.structuredContent as { promiseId: string; summary: string };
  console.log(`[client] call ${n + 1}: ${promiseId}: ${summary}`);
}
await client.close();
