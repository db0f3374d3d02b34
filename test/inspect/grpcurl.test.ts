// Inspecting a node the way users do: `resonate dev` as a real process, then
// the real grpcurl and `buf curl` (server reflection, no .proto files) and
// plain HTTP probes, all on the one port.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startNode, type NodeProc } from "../support/node.ts";
import { repoRoot, stopAll } from "../support/processes.ts";

const run = promisify(execFile);
const buf = path.join(repoRoot, "node_modules/.bin/buf");

async function which(command: string): Promise<string | undefined> {
  try {
    return (await run("sh", ["-c", `command -v ${command}`])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

const grpcurl = await which("grpcurl");
if (!grpcurl) {
  console.warn("grpcurl is not on PATH: the grpcurl checks are skipped (.ci/run installs it: go install github.com/fullstorydev/grpcurl/cmd/grpcurl)");
}

let node: NodeProc;
let address: string;

beforeAll(async () => {
  // The start line is an info line: this test reads it.
  node = await startNode({ env: { RESONATE_LOG_LEVEL: "info" } });
  address = node.address;
  await node.proc.waitForLine(/serving gRPC and HTTP/);
});

afterAll(stopAll);

const grpcurlJson = async (args: string[]) => JSON.parse((await run(grpcurl!, ["-plaintext", ...args])).stdout);

describe("resonate dev", () => {
  test("prints one line saying where it listens, which store, and that the store does not survive a restart", async () => {
    // JSON lines: stdout is not a TTY.
    const [line] = await node.proc.waitForLine(/^.*serving.*$/m);
    const entry = JSON.parse(line) as { msg: string; address: string; store: string };
    expect(entry.msg).toBe(
      `resonate dev serving gRPC and HTTP on ${address} with the embedded in-memory store (its data does not survive a restart)`,
    );
    expect(entry).toMatchObject({ address, store: "memory" });
    // The other line says once that the node runs without authentication (see test/security/cli.test.ts).
    await node.proc.waitForLine(/authentication is off/);
    const lines = node.proc.output.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/authentication is off/);
  });

  test("GET /health and GET /ready answer 200 on the same port as gRPC", async () => {
    const health = await fetch(`http://${address}/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
    const ready = await fetch(`http://${address}/ready`);
    expect(ready.status).toBe(200);
  });
});

describe.skipIf(!grpcurl)("grpcurl", () => {
  test("list shows the three services, health and reflection", async () => {
    const { stdout } = await run(grpcurl!, ["-plaintext", address, "list"]);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "resonate.mesh.v1.PromiseService",
      "resonate.mesh.v1.ScheduleService",
      "resonate.mesh.v1.TaskService",
    ]);
  });

  test("creates a promise and reads it back as JSON", async () => {
    const created = await grpcurlJson([
      "-d",
      JSON.stringify({ id: "greet-1", timeout_at: String(Date.now() + 3_600_000), tags: { who: "grpcurl" }, param: { data: Buffer.from('"World"').toString("base64") } }),
      address,
      "resonate.mesh.v1.PromiseService/Create",
    ]);
    expect(created.promise).toMatchObject({ id: "greet-1", state: "PROMISE_STATE_PENDING" });
    const read = await grpcurlJson(["-d", '{"id":"greet-1"}', address, "resonate.mesh.v1.PromiseService/Get"]);
    expect(read.promise).toMatchObject({ id: "greet-1", state: "PROMISE_STATE_PENDING", tags: { who: "grpcurl" } });
    expect(Buffer.from(read.promise.param.data, "base64").toString()).toBe('"World"');
  });

  test("an error comes back as a gRPC status with the node's message", async () => {
    const err = await run(grpcurl!, ["-plaintext", "-d", '{"id":"missing"}', address, "resonate.mesh.v1.PromiseService/Get"]).then(
      () => undefined,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    expect(err).toMatch(/Code: NotFound/);
    expect(err).toMatch(/promise "missing" does not exist/);
  });

  test("health check says SERVING", async () => {
    expect(await grpcurlJson([address, "grpc.health.v1.Health/Check"])).toEqual({ status: "SERVING" });
  });
});

describe("buf curl", () => {
  test.skipIf(!existsSync(buf))("reads, through reflection, a promise another client (grpc-js) created", async () => {
    const { createClient } = await import("@resonate-mesh/node/internal-for-tests");
    const { PromiseService } = await import("@resonate-mesh/node/proto");
    const client = createClient(PromiseService, address);
    try {
      await client.create({ id: "from-grpc-js", timeoutAt: BigInt(Date.now() + 3_600_000), tags: { by: "grpc-js" } });
    } finally {
      client.close();
    }
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--data",
      '{"id":"from-grpc-js"}',
      `http://${address}/resonate.mesh.v1.PromiseService/Get`,
    ]);
    expect(JSON.parse(stdout).promise).toMatchObject({ id: "from-grpc-js", state: "PROMISE_STATE_PENDING", tags: { by: "grpc-js" } });
  });
});

describe("stopping", () => {
  test("SIGINT (Ctrl-C) stops the node cleanly: a stop line and exit code 0", async () => {
    node.proc.child.kill("SIGINT");
    expect(await node.proc.exited).toBe(0);
    expect(node.proc.output).toMatch(/resonate dev stopped \(SIGINT\)/);
  });
});
