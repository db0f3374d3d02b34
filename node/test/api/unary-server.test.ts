// The lean unary path (api/grpc/unary-server.ts) answers exactly as grpc-js
// did: each case sends the same raw HTTP/2 request to a node's gRPC server
// with the lean path and to one serving unary calls through grpc-js, and
// the two answers (HTTP status, content type, grpc-status, grpc-message,
// the resonate-* trailers and the rich status) must be equal.

import http2 from "node:http2";
import net from "node:net";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { takeStreamsFirst } from "../../src/api/grpc/grpc-js-hook.ts";
import { createGrpcServer, type GrpcServer } from "../../src/api/grpc/server.ts";
import {
  PromiseService,
  PromiseServiceCreateRequestSchema,
  PromiseServiceCreateResponseSchema,
} from "../../src/gen/resonate/mesh/v1/promise_service_pb.ts";
import { createMeshNode } from "../../src/mesh/compose.ts";
import type { MeshNode } from "../../src/mesh/node.ts";
import { MemoryStore } from "../../src/store/memory.ts";

const CREATE = `/${PromiseService.typeName}/${PromiseService.method.create.name}`;
const GET = `/${PromiseService.typeName}/${PromiseService.method.get.name}`;
const HOUR = 3_600_000;

interface Listening {
  address: string;
  grpcServer: GrpcServer;
  close(): Promise<void>;
}

async function listen(grpcServer: GrpcServer): Promise<Listening> {
  const listener = net.createServer((socket) => grpcServer.injectConnection(socket));
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const { port } = listener.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    grpcServer,
    close: async () => {
      await grpcServer.shutdown(100);
      await new Promise((resolve) => listener.close(resolve));
    },
  };
}

interface Answer {
  status: number;
  contentType: string | undefined;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  code: string | undefined;
  field: string | undefined;
  details: string | undefined;
  body: Buffer;
}

/** One raw HTTP/2 request, the way a gRPC client sends it; the answer with headers and trailers merged. */
async function send(address: string, path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  const session = http2.connect(`http://${address}`);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      session.once("error", reject);
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      const seen: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => Object.assign(seen, h));
      stream.on("trailers", (t) => Object.assign(seen, t));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("close", () =>
        resolve({
          status: Number(seen[":status"]),
          contentType: seen["content-type"],
          grpcStatus: seen["grpc-status"] as string | undefined,
          grpcMessage: seen["grpc-message"] as string | undefined,
          code: seen["resonate-code"] as string | undefined,
          field: seen["resonate-field"] as string | undefined,
          details: seen["grpc-status-details-bin"] as string | undefined,
          body: Buffer.concat(chunks),
        }),
      );
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

/** gRPC's length-prefixed message framing. */
function frame(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

const createRequest = (id: string) =>
  toBinary(PromiseServiceCreateRequestSchema, create(PromiseServiceCreateRequestSchema, { id, timeoutAt: BigInt(Date.now() + HOUR) }));

let node: MeshNode;
let lean: Listening;
let grpcJs: Listening;

beforeAll(async () => {
  node = createMeshNode({ store: new MemoryStore() });
  lean = await listen(createGrpcServer({ engine: node }));
  grpcJs = await listen(createGrpcServer({ engine: node, unaryPath: "grpc-js" }));
});

afterAll(async () => {
  await lean?.close();
  await grpcJs?.close();
});

/** The same request to both servers; ids are made per server so that both see a fresh one. */
async function both(path: string, body: (server: string) => Buffer, headers?: http2.OutgoingHttpHeaders): Promise<[Answer, Answer]> {
  return [await send(lean.address, path, body("lean"), headers), await send(grpcJs.address, path, body("grpc-js"), headers)];
}

describe("the lean unary path answers as grpc-js does", () => {
  test("a create answers OK with the same headers, trailers and record", async () => {
    const id = `parity-ok-${Date.now()}`;
    const [a, b] = await both(CREATE, (s) => frame(createRequest(`${id}-${s}`)));
    expect(a.grpcStatus).toBe("0");
    expect({ ...a, body: undefined }).toEqual({ ...b, body: undefined });
    const decode = (answer: Answer) => fromBinary(PromiseServiceCreateResponseSchema, answer.body.subarray(5)).promise!;
    expect(decode(a).id).toBe(`${id}-lean`);
    expect(decode(a).state).toBe(decode(b).state);
  });

  test("a missing promise is NOT_FOUND with the same message and trailers", async () => {
    const body = toBinary(PromiseService.method.get.input, create(PromiseService.method.get.input, { id: "parity-missing" }));
    const [a, b] = await both(GET, () => frame(body));
    expect(a.grpcStatus).toBe(String(grpc.status.NOT_FOUND));
    expect(a).toEqual(b);
  });

  test("bad input is INVALID_ARGUMENT naming the field, with the same rich status", async () => {
    const [a, b] = await both(CREATE, () => frame(createRequest("")));
    expect(a.grpcStatus).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(a.field).toBe("id");
    expect(a.details).toBeTruthy();
    expect(a).toEqual(b);
  });

  test("a message above the receive limit is RESOURCE_EXHAUSTED before it is read", async () => {
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(64 * 1024 * 1024, 1);
    const [a, b] = await both(CREATE, () => prefix);
    expect(a.grpcStatus).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(a).toEqual(b);
  });

  test("a call with two request messages is UNIMPLEMENTED", async () => {
    const [a, b] = await both(CREATE, (s) => Buffer.concat([frame(createRequest(`two-${s}-1`)), frame(createRequest(`two-${s}-2`))]));
    expect(a.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(a).toEqual(b);
  });

  test("a call with no request message is UNIMPLEMENTED", async () => {
    const [a, b] = await both(CREATE, () => Buffer.alloc(0));
    expect(a.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(a).toEqual(b);
  });

  test("bytes that are not the request message are INVALID_ARGUMENT naming the message type", async () => {
    const [a, b] = await both(CREATE, () => frame(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    expect(a.grpcStatus).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(decodeURIComponent(a.grpcMessage ?? "")).toMatch(/^the request is not a valid resonate\.mesh\.v1\.\w+ message: /);
    expect(a).toEqual(b);
  });

  test("a gzip-compressed request is served", async () => {
    const id = `parity-gzip-${Date.now()}`;
    const gzip = promisify(zlib.gzip);
    const bodies = { lean: frame(await gzip(createRequest(`${id}-lean`)), true), "grpc-js": frame(await gzip(createRequest(`${id}-grpc-js`)), true) };
    const [a, b] = await both(CREATE, (s) => bodies[s as keyof typeof bodies], { "grpc-encoding": "gzip" });
    expect(a.grpcStatus).toBe("0");
    expect({ ...a, body: undefined }).toEqual({ ...b, body: undefined });
  });

  test("a request compressed with an encoding the node lacks is UNIMPLEMENTED", async () => {
    const [a, b] = await both(CREATE, () => frame(createRequest("parity-snappy"), true), { "grpc-encoding": "snappy" });
    expect(a.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(a).toEqual(b);
  });

  test("a grpc-timeout that does not parse is INTERNAL", async () => {
    const [a, b] = await both(CREATE, (s) => frame(createRequest(`parity-timeout-${s}`)), { "grpc-timeout": "soon" });
    expect(a.grpcStatus).toBe(String(grpc.status.INTERNAL));
    expect(a).toEqual(b);
  });

  test("a content type other than application/grpc is HTTP 415", async () => {
    const [a, b] = await both(CREATE, () => frame(createRequest("parity-json")), { "content-type": "application/json" });
    expect(a.status).toBe(415);
    expect(a).toEqual(b);
  });
});

describe("takeStreamsFirst", () => {
  test("the taker answers the paths it serves and grpc-js every other", async () => {
    const server = new grpc.Server({ "grpc.enable_channelz": 0 });
    takeStreamsFirst(server, {
      serves: (headers) => headers[":path"] === "/t.T/Taken",
      serve: (stream) => stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "0", "grpc-message": "taken" }, { endStream: true }),
    });
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const listener = net.createServer((socket) => injector.injectConnection(socket));
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const address = `127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
    try {
      expect((await send(address, "/t.T/Taken", frame(Buffer.alloc(0)))).grpcMessage).toBe("taken");
      const other = await send(address, "/t.T/Other", frame(Buffer.alloc(0)));
      expect(other.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    } finally {
      server.forceShutdown();
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
