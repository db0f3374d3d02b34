// The README's walk-through with real processes: a node, a worker, and the
// MCP server over stdio driven by the official MCP client, the way an AI app
// drives it. Concurrent calls with the same input share one execution; a
// call survives its worker being killed and restarted.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { promiseIdFor } from "../src/ids.ts";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { dir: exampleDir, tsx } = example(import.meta.url);

interface ToolAnswer {
  text: string;
  promiseId: string;
}

describe("MCP tool: a stateless stdio server whose tool is a durable workflow", () => {
  let url: string;
  let client: Client;
  const workers: Proc[] = [];
  // Steps long enough that a kill lands inside the step it aims at, even on a busy machine.
  const workerEnv = () => ({ RESONATE_URL: url, STEP_MS: "1500", WORKER_TTL_MS: "2000" });
  /** How often a step ran for the research `id`, over every worker so far. */
  const ran = (id: string, step: "gathering" | "summarizing") =>
    workers.reduce((n, w) => n + w.count(new RegExp(`\\] ${id}: ${step}`)), 0);

  async function research(topic: string): Promise<ToolAnswer> {
    const result = await client.callTool({ name: "research", arguments: { topic } });
    expect(result.isError).toBeFalsy();
    const content = result.content as Array<{ type: string; text: string }>;
    const { promiseId } = result.structuredContent as { promiseId: string };
    return { text: content[0]!.text, promiseId };
  }

  beforeAll(async () => {
    url = (await startNode()).url;
    workers.push(tsx("worker 1", "src/worker.ts", workerEnv()));
    await workers[0]!.waitForLine(/ready in group "workers"/);
    client = new Client({ name: "e2e", version: "0.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: "npx",
        args: ["tsx", "src/server.ts"],
        cwd: exampleDir,
        env: { ...getDefaultEnvironment(), RESONATE_URL: url },
        stderr: "pipe",
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await stopAll();
  });

  test("the server offers the research tool with its input schema", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["research"]);
    expect(tools[0]!.inputSchema.required).toEqual(["topic"]);
  });

  test("two concurrent calls with the same input share one execution and one answer", async () => {
    const [a, b] = await Promise.all([research("Durable Execution"), research("  durable   execution ")]);
    expect(a.promiseId).toBe(promiseIdFor("durable execution"));
    expect(b).toEqual(a);
    expect(a.text).toContain(`Research on "Durable Execution" from 3 sources`);
    expect(ran(a.promiseId, "gathering")).toBe(1);
    expect(ran(a.promiseId, "summarizing")).toBe(1);
  });

  test("a later call with the same input is answered from the promise without running again", async () => {
    const again = await research("durable execution");
    expect(again.promiseId).toBe(promiseIdFor("durable execution"));
    expect(ran(again.promiseId, "gathering")).toBe(1);
  });

  test("different inputs are different executions", async () => {
    const other = await research("sagas");
    expect(other.promiseId).not.toBe(promiseIdFor("durable execution"));
    expect(ran(other.promiseId, "gathering")).toBe(1);
  });

  test("a call whose worker is killed mid-workflow is finished by a restarted worker from its last checkpoint", async () => {
    const id = promiseIdFor("event sourcing");
    const call = research("event sourcing");
    // Step 2 starts only after step 1's result is recorded on the node.
    await workers[0]!.waitForLine(new RegExp(`${id}: summarizing`));
    await workers[0]!.crash();
    workers.push(tsx("worker 2", "src/worker.ts", workerEnv()));

    const answer = await call;
    expect(answer.promiseId).toBe(id);
    expect(answer.text).toContain(`Research on "event sourcing" from 3 sources`);
    expect(ran(id, "gathering")).toBe(1);
    expect(workers[1]!.count(new RegExp(`${id}: summarizing`))).toBe(1);
  });

  test("the demo client (src/client.ts) calls the tool twice at once and gets one answer", async () => {
    const demo = tsx("demo client", "src/client.ts", { RESONATE_URL: url });
    await demo.exited;
    const calls = demo.lines().filter((l) => l.startsWith("[client] call "));
    expect(calls).toHaveLength(2);
    expect(calls[0]!.replace("call 1", "call 2")).toBe(calls[1]);
    expect(ran(promiseIdFor("durable execution"), "gathering")).toBe(1);
  });
});
