// Fuzz: raw bytes at the one port, where the first bytes decide the protocol.
// Random bytes, the HTTP/2 preface or an HTTP/1.1 request line followed by
// garbage, and TLS records on a cleartext node; random bytes and broken TLS
// handshakes on a TLS node. The node never answers 5xx, writes nothing, and
// serves valid clients afterwards.

import net from "node:net";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type RunningNode } from "@resonate-mesh/node";
import { NodeClient } from "@resonate-mesh/node/client";
import { expectStillServing, fuzzParams, snapshot, startTestNode, type TestNode } from "./fuzz-support.ts";
import { certDir, issue, makeCa, type Ca } from "./tls-support.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Write `bytes` to the port and read what comes back until the node closes or goes quiet. */
async function sendRaw(port: number, bytes: Uint8Array, quietMs = 60): Promise<Buffer> {
  return await new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(hard);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    };
    const hard = setTimeout(finish, 5_000);
    socket.on("connect", () => {
      socket.write(bytes);
      quiet();
    });
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      quiet();
    });
    socket.on("error", finish);
    socket.on("close", finish);
  });
}

/** An HTTP/1.x answer's status line, if the bytes start with one. */
function httpStatusOf(answer: Buffer): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, 20).toString("latin1"));
  return match === null ? undefined : Number(match[1]);
}

const garbage = fc.uint8Array({ maxLength: 400 });
const firstBytesArb = fc.oneof(
  garbage,
  garbage.map((b) => Buffer.concat([Buffer.from(PREFACE), b])),
  fc.tuple(fc.constantFrom("GET", "POST", "PUT", "PRI", "CONNECT", "OPTIONS"), fc.constantFrom("/", "/health", "/poll/g/p", "*", "//x", ""), garbage).map(
    ([method, path, b]) => Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\n`), b]),
  ),
  fc.tuple(fc.nat(100_000), garbage).map(([length, b]) =>
    Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`), b]),
  ),
  garbage.map((b) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), b])),
  fc.constantFrom(Buffer.from(PREFACE.slice(0, 10)), Buffer.from("\r\n\r\n"), Buffer.alloc(0), Buffer.from("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")),
);

describe("fuzzing the raw port of a cleartext node", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.close();
  });

  it("answers random first bytes with no 5xx and writes nothing", async () => {
    const before = await snapshot(node);
    await fc.assert(
      fc.asyncProperty(firstBytesArb, async (bytes) => {
        const status = httpStatusOf(await sendRaw(node.server.port, bytes));
        if (status !== undefined) expect(status, `answered ${status} to ${Buffer.from(bytes).subarray(0, 60).toString("latin1")}`).toBeLessThan(500);
      }),
      fuzzParams(400),
    );
    expect(await snapshot(node)).toBe(before);
    await expectStillServing(node);
  }, 120_000);
});

describe("fuzzing the raw port of a TLS node", () => {
  let ca: Ca;
  let running: RunningNode;
  beforeAll(async () => {
    const dir = certDir();
    ca = makeCa(dir, "fuzz-ca");
    const cert = issue(dir, ca, "fuzz-node");
    running = await startNode({ port: 0, tls: { certFile: cert.certFile, keyFile: cert.keyFile } });
    await running.ready;
  }, 60_000);
  afterAll(async () => {
    await running?.close();
  });

  it("answers random bytes and broken handshakes with no 5xx and still serves TLS clients", async () => {
    const handshakeArb = fc.oneof(
      firstBytesArb,
      // A TLS record header that claims a handshake, with a random body and length.
      fc.tuple(fc.nat(0xffff), garbage).map(([length, b]) => Buffer.concat([Buffer.from([0x16, 0x03, 0x03, length >> 8, length & 0xff, 0x01]), b])),
    );
    await fc.assert(
      fc.asyncProperty(handshakeArb, async (bytes) => {
        const status = httpStatusOf(await sendRaw(running.server.port, bytes));
        if (status !== undefined) expect(status).toBeLessThan(500);
      }),
      fuzzParams(300),
    );
    const client = new NodeClient({ address: running.address, secure: true, tls: { ca: readFileSync(ca.certFile) } });
    try {
      const created = await client.send({ kind: "promise.create", data: { id: "after-raw", timeoutAt: Date.now() + 60_000, param: { headers: {}, data: "" }, tags: {} } } as never);
      expect(created.status).toBe(200);
      expect(await running.store.list({ prefix: "" })).toHaveLength(1);
    } finally {
      client.close();
    }
  }, 120_000);
});
