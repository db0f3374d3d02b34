// Issue 14, item 3: connections that time out are closed, fully (no
// half-open sockets holding file descriptors); idle HTTP/2 sessions are
// closed even when they answer pings; the node holds a bounded number of
// connections and gRPC streams and says so when it refuses one. Small limits
// (flags of `resonate dev`) make each case take a second or two.

import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskService } from "@resonate-mesh/node/proto";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { Inbox } from "../conformance/harness.ts";
import { startNode, type NodeProc } from "../support/node.ts";
import { stopAll } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

let node: NodeProc;

beforeAll(async () => {
  node = await startNode({
    args: [
      "--header-timeout-ms", "500",
      "--request-timeout-ms", "1000",
      "--max-header-bytes", "2048",
      "--max-body-bytes", "4096",
      "--http2-idle-timeout-ms", "1000",
      "--max-grpc-streams", "2",
    ],
  });
});

afterAll(async () => {
  await stopAll();
});

/** A raw client socket that keeps its side open after the server's FIN, as a stuck client would. */
async function rawSocket(port: number): Promise<Socket & { received: () => string; closedByServer: Promise<void> }> {
  const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  let text = "";
  socket.on("data", (d: Buffer) => (text += d.toString()));
  socket.on("error", () => undefined);
  // "close" with our side never ended means the server closed the connection fully (RST or FIN after destroy).
  const closedByServer = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return Object.assign(socket, { received: () => text, closedByServer });
}

async function gauge(target: NodeProc, name: string): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`, { headers: { connection: "close" } })).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  return Number(m?.[1] ?? NaN);
}

/** The server destroyed its side: writes to a socket it only half-closed would be taken; to a closed one they fail. */
async function expectFullyClosed(socket: Awaited<ReturnType<typeof rawSocket>>): Promise<void> {
  const writer = setInterval(() => socket.write("x"), 100);
  try {
    await Promise.race([
      socket.closedByServer,
      new Promise((_, reject) => setTimeout(() => reject(new Error("the server left the socket half-open")), 5_000)),
    ]);
  } finally {
    clearInterval(writer);
  }
}

describe("HTTP/1.1 connections that stall", () => {
  it("a request whose headers never finish gets 408 and its socket is closed", async () => {
    const s = await rawSocket(node.port);
    s.write("GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    await waitFor("the 408", () => s.received().startsWith("HTTP/1.1 408"), 10_000);
    expect(s.received()).toMatch(/not received in time \(headers within 500 ms/);
    await expectFullyClosed(s);
  });

  it("a request whose body stalls gets 408 and its socket is closed", async () => {
    const s = await rawSocket(node.port);
    s.write("POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"kind\":");
    await waitFor("the 408", () => s.received().startsWith("HTTP/1.1 408"), 10_000);
    await expectFullyClosed(s);
  });

  it("a head larger than --max-header-bytes gets 431 and its socket is closed", async () => {
    const s = await rawSocket(node.port);
    s.write(`GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${"a".repeat(4096)}\r\n\r\n`);
    await waitFor("the 431", () => s.received().startsWith("HTTP/1.1 431"), 10_000);
    await expectFullyClosed(s);
  });

  it("a body larger than --max-body-bytes gets 413 and its socket is closed", async () => {
    const s = await rawSocket(node.port);
    s.write(`POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n{`);
    await waitFor("the 413", () => s.received().startsWith("HTTP/1.1 413"), 10_000);
    expect(s.received()).toMatch(/larger than the limit of 4096 bytes/);
    await expectFullyClosed(s);
  });
});

describe("HTTP/2 sessions", () => {
  it("an idle session that answers pings is closed after --http2-idle-timeout-ms", async () => {
    const session = http2.connect(node.url);
    session.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    await new Promise<void>((resolve) => session.once("connect", () => resolve()));
    const started = Date.now();
    const pinger = setInterval(() => {
      if (!session.closed && !session.destroyed) session.ping(() => undefined);
    }, 200);
    try {
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error("the idle session is still open")), 10_000))]);
    } finally {
      clearInterval(pinger);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("stream caps", () => {
  it("a Poll stream past --max-grpc-streams is refused RESOURCE_EXHAUSTED naming the cap", async () => {
    const tasks = createClient(TaskService, node.address);
    const open = [await Inbox.open(tasks, "cap", "w1"), await Inbox.open(tasks, "cap", "w2")];
    const error = await Inbox.open(tasks, "cap", "w3").then(
      () => undefined,
      (err: grpc.ServiceError) => err,
    );
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error?.details).toMatch(/already holds 2 Poll and Watch streams/);
    for (const inbox of open) inbox.stream.cancel();
    tasks.close();
    expect(await gauge(node, "resonate_server_grpc_streams")).toBeLessThanOrEqual(2);
  });
});

describe("connection cap", () => {
  it("one connection past --max-connections is answered 503 with a sentence, counted, and the node serves again once some close", async () => {
    const capped = await startNode({ args: ["--max-connections", "4"] });
    const held = await Promise.all([1, 2, 3, 4].map(() => rawSocket(capped.port)));
    await new Promise((r) => setTimeout(r, 200));
    const extra = await rawSocket(capped.port);
    await waitFor("the 503", () => extra.received().startsWith("HTTP/1.1 503"), 10_000);
    expect(extra.received()).toMatch(/maximum of 4 connections/);
    await expectFullyClosed(extra);

    for (const s of held) s.destroy();
    const text = await waitFor("the node to serve again", async () => {
      try {
        return await (await fetch(`${capped.url}/metrics`)).text();
      } catch {
        return undefined;
      }
    });
    expect(text).toMatch(/resonate_server_refused_total\{reason="connections"\} [1-9]/);
  }, 120_000);
});
