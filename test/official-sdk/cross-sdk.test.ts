// Cross-SDK: workers of the official Resonate SDK and of our SDK on one node
// call each other's functions. Both encode an invocation as {func, args,
// version} and values as base64 JSON, so a function is callable by name from
// either side.

import "./with-resolvers.ts";
import { Resonate as OfficialResonate } from "@resonatehq/sdk";
import { Resonate } from "@resonate-mesh/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count, tempFile } from "../support/files.ts";
import { startNode, type NodeProc } from "../support/node.ts";
import type { Proc } from "../support/processes.ts";
import { startOursWorker, startWorker } from "./harness.ts";

let node: NodeProc;
let official: OfficialResonate;
let ours: Resonate;
const effects = tempFile("effects.txt");
const procs: Proc[] = [];

beforeAll(async () => {
  node = await startNode();
  procs.push(
    ...(await Promise.all([
      startWorker(node.url, { group: "x-official", effects, ours: "x-ours", adders: "x-official" }),
      startOursWorker(node.url, { group: "x-ours", effects, official: "x-official" }),
    ])),
  );
  official = new OfficialResonate({ url: node.url, group: "x-clients" });
  ours = new Resonate({ url: node.url, group: "x-our-clients" });
});

afterAll(async () => {
  await official?.stop();
  await ours?.stop();
  await Promise.all(procs.map((p) => p.stop()));
  await node?.stop();
});

describe("one node, two SDKs", () => {
  it("the official SDK's rpc runs a function served by our SDK's worker", async () => {
    expect(await official.rpc("xs-1", "oursAdd", 4, 5, official.options({ target: "x-ours" }))).toBe(9);
    expect(count(effects, "ours-add xs-1")).toBe(1);
  });

  it("an official-SDK workflow calls a function served by our SDK with ctx.rpc", async () => {
    expect(await official.rpc("xs-2", "callsOurs", 6, 7, official.options({ target: "x-official" }))).toBe("sum=13");
    expect(count(effects, "ours-add xs-2:0")).toBe(1);
  });

  it("a workflow of our SDK calls functions served by the official SDK's worker", async () => {
    expect(await ours.rpc<string>("xs-3", "oursCallsOfficial", "Mesh").target("poll://any@x-ours")).toBe("Hello, Mesh! (5)");
  });

  it("our SDK's client calls an official-SDK workflow by name", async () => {
    expect(await ours.rpc<string>("xs-4", "greet", "Ada").target("poll://any@x-official")).toBe("Hello, Ada!");
    expect(count(effects, "done xs-4/format")).toBe(1);
  });
});
