// An MCP server over stdio with one tool, "research". The server holds no
// state: each call becomes a durable workflow on a worker, under a promise id
// derived from the input. Two calls with the same input name the same promise,
// so they share one execution and one result (and a later call is answered
// from the promise at once).
//
// stdout carries the MCP protocol: everything else goes to stderr.

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { Resonate } from "@resonate-mesh/sdk";
import { pino } from "pino";
import { z } from "zod";
import { promiseIdFor } from "./ids.ts";

const resonate = new Resonate({
  url: process.env.RESONATE_URL ?? "http://localhost:8001",
  // The SDK logs through pino: to stderr here.
  logger: pino({ name: "resonate", level: process.env.RESONATE_LOG_LEVEL ?? "warn" }, pino.destination(2)),
});

const server = new McpServer({ name: "resonate-research", version: "0.1.0" });

server.registerTool(
  "research",
  {
    title: "Research a topic",
    description: "Research a topic durably: the work survives crashes, and the same topic is researched once.",
    inputSchema: { topic: z.string().min(1).max(500).describe("What to research") },
    outputSchema: { promiseId: z.string(), summary: z.string() },
  },
  async ({ topic }) => {
    const id = promiseIdFor(topic);
    console.error(`[mcp] research "${topic}" -> promise ${id}`);
    const summary = await resonate.rpc<string>(id, "research", topic.trim()).target("workers");
    return { content: [{ type: "text" as const, text: summary }], structuredContent: { promiseId: id, summary } };
  },
);

await server.connect(new StdioServerTransport());
console.error(`[mcp] research server ready on stdio`);

// An MCP client ends a stdio server by closing its stdin (or by a signal).
async function shutdown(): Promise<void> {
  await server.close().catch(() => undefined);
  await resonate.stop();
  process.exit(0);
}
process.stdin.once("end", () => void shutdown());
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
