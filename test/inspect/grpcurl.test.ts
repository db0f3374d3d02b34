// Inspecting a node the way users do: `resonate dev` as a real process, then
// the real grpcurl and `buf curl` (server reflection, no .proto files) and
// plain HTTP probes, all on the one port.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "node/bin/resonate.js");
const buf = path.join(root, "node_modules/.bin/buf");

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

let child: ChildProcess;
let address: string;
const output: string[] = [];

/** The first log line that matches, as the node prints it (JSON lines: stdout is not a TTY). */
function waitForLine(pattern: RegExp, ms = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${ms} ms; output:\n${output.join("")}`)), ms);
    const check = () => {
      const line = output.join("").split("\n").find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        resolve(line);
      }
    };
    child.stdout!.on("data", check);
    check();
  });
}

beforeAll(async () => {
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  child = spawn(process.execPath, [bin, "dev", "--port", String(port)], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.setEncoding("utf8").on("data", (d: string) => output.push(d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => output.push(d));
  await waitForLine(/serving gRPC and HTTP/);
});

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
  }
});

const grpcurlJson = async (args: string[]) => JSON.parse((await run(grpcurl!, ["-plaintext", ...args])).stdout);

describe("resonate dev", () => {
  test("prints one line saying where it listens, which store, and that the store does not survive a restart", async () => {
    const line = await waitForLine(/serving/);
    const entry = JSON.parse(line) as { msg: string; address: string; store: string };
    expect(entry.msg).toBe(
      `resonate dev serving gRPC and HTTP on ${address} with the embedded in-memory store (its data does not survive a restart)`,
    );
    expect(entry).toMatchObject({ address, store: "memory" });
    expect(output.join("").trim().split("\n")).toHaveLength(1);
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
    const { createClient } = await import("@resonate-mesh/node/api/grpc/service");
    const { PromiseService } = await import("@resonate-mesh/node/gen/resonate/mesh/v1/promise_service_pb");
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
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(output.join("")).toMatch(/resonate dev stopped \(SIGINT\)/);
  });
});
