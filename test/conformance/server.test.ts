// The one port: gRPC (with health) and HTTP/1.1 (probes, metrics) side by
// side, and a clean shutdown that tells connected workers to go elsewhere.

import { describe, expect, test } from "vitest";
import { startServer } from "@resonate-mesh/node/server";
import { classifyFirstBytes } from "@resonate-mesh/node/internal-for-tests";
import { HealthCheckResponse_ServingStatus as Serving } from "@resonate-mesh/node/proto";
import { createMeshNode } from "@resonate-mesh/node/local";
import { MemoryStore } from "@resonate-mesh/node/store";
import { HOUR, T0, grpc, nodePerTest } from "./harness.ts";

describe("one port", () => {
  const n = nodePerTest();
  const url = (path: string) => `http://${n.server.address}${path}`;

  test("gRPC health reports SERVING for the server and each service", async () => {
    expect((await n.health.check({ service: "" })).status).toBe(Serving.SERVING);
    for (const service of ["resonate.mesh.v1.PromiseService", "resonate.mesh.v1.TaskService", "resonate.mesh.v1.ScheduleService"]) {
      expect((await n.health.check({ service })).status).toBe(Serving.SERVING);
    }
  });

  test("gRPC health answers NOT_FOUND for a service it does not serve", async () => {
    await expect(n.health.check({ service: "acme.Nope" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test("GET /health answers 200 {status: ok} on the gRPC port", async () => {
    const res = await fetch(url("/health"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ status: "ok" });
  });

  test("GET /ready answers 200 while the node serves", async () => {
    const res = await fetch(url("/ready"));
    expect(res.status).toBe(200);
  });

  test("GET /metrics exposes gRPC calls and the engine's counters in Prometheus text", async () => {
    await n.promises.create({ id: "p", timeoutAt: BigInt(T0 + HOUR) });
    const res = await fetch(url("/metrics"));
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toMatch(/resonate_grpc_calls_total\{method="\/resonate\.mesh\.v1\.PromiseService\/Create",code="OK"\} 1/);
    expect(body).toMatch(/resonate_node_requests_total\{kind="promise\.create",status="200"\} 1/);
    expect(body).toMatch(/process_cpu_seconds_total/);
  });

  test("an unknown path is a 404 with a JSON body saying what is served", async () => {
    const res = await fetch(url("/nope"));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(/GET \/health/);
  });

  test("closing the server ends open Poll streams with UNAVAILABLE so workers reconnect elsewhere", async () => {
    const inbox = await n.poll("workers", "w1");
    await n.server.close();
    await expect.poll(() => inbox.ended).toBeDefined();
    expect((inbox.ended as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((inbox.ended as grpc.ServiceError).details).toMatch(/shutting down/);
  });
});

describe("readiness", () => {
  test("GET /ready answers 503 while the engine is not ready", async () => {
    const store = new MemoryStore();
    const node = createMeshNode({ store });
    const server = await startServer({ engine: node, port: 0, ready: () => false });
    try {
      const res = await fetch(`http://${server.address}/ready`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "not ready" });
    } finally {
      await server.close();
      await store.close();
    }
  });
});

describe("classifying a connection by its first bytes", () => {
  test("the HTTP/2 client preface is gRPC", () => {
    expect(classifyFirstBytes(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"))).toBe(true);
  });

  test("an HTTP/1.1 request line is not", () => {
    expect(classifyFirstBytes(Buffer.from("GET /health HTTP/1.1\r\n"))).toBe(false);
    expect(classifyFirstBytes(Buffer.from("POST / HTTP/1.1\r\n"))).toBe(false);
  });

  test("a prefix of the preface needs more bytes to decide", () => {
    expect(classifyFirstBytes(Buffer.from("PRI * HT"))).toBeUndefined();
  });
});
