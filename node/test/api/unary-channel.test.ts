// The lean unary gRPC clients against a real grpc-js server: answers, the
// statuses and metadata of failures, deadlines, cancellation, size limits,
// and how many connections it opens.

import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { UnaryChannel, type UnaryCallError } from "../../src/api/grpc/unary-channel.ts";
import { RawUnaryChannel } from "../../src/client/raw-channel.ts";

const bytes = (text: string) => Buffer.from(text, "utf8");
const text = (data: Uint8Array) => Buffer.from(data).toString("utf8");

/** A raw (bytes in, bytes out) unary method of the test service. */
function method(name: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/test.Echo/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  };
}

const definition = {
  echo: method("Echo"),
  fail: method("Fail"),
  hang: method("Hang"),
  big: method("Big"),
  slow: method("Slow"),
};

let server: grpc.Server;
let address: string;
/** Connections the server accepted, counted at the TCP level. */
let connections = 0;
/** Calls of Hang and Slow, answered (or not) when a test says so. */
const parked: { callback: grpc.sendUnaryData<Buffer>; request: Buffer }[] = [];

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(definition, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
    fail: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const metadata = new grpc.Metadata();
      metadata.set("resonate-code", "PROMISE_NOT_FOUND");
      metadata.set("trace-bin", Buffer.from([1, 2, 3]));
      callback({ code: grpc.status.NOT_FOUND, details: `no promise "${call.request.toString()}" (100% sure)`, metadata });
    },
    hang: () => undefined,
    big: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, Buffer.alloc(Number(call.request.toString()), 7)),
    slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => parked.push({ callback, request: call.request }),
  });
  // Serve through our own listener so connections can be counted.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = net.createServer((socket) => {
    connections++;
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  address = `127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
  afterAll(() => {
    listener.close();
    server.forceShutdown();
  });
});

// Both clients keep one contract: UnaryChannel on node:http2, RawUnaryChannel writing the frames itself.
describe.each([
  ["UnaryChannel", UnaryChannel],
  ["RawUnaryChannel", RawUnaryChannel],
] as const)("%s", (_, Channel) => {
  test("a call resolves to the server's response message", async () => {
    const channel = new Channel(address);
    try {
      expect(text(await channel.call("/test.Echo/Echo", bytes("hello")))).toBe("hello");
      expect(text(await channel.call("/test.Echo/Echo", new Uint8Array(0)))).toBe("");
    } finally {
      channel.close();
    }
  });

  test("a failure carries the status code, the decoded message and the trailing metadata", async () => {
    const channel = new Channel(address);
    try {
      const error = (await channel.call("/test.Echo/Fail", bytes("p1")).catch((e: unknown) => e)) as UnaryCallError;
      expect(error.code).toBe(grpc.status.NOT_FOUND);
      expect(error.details).toBe('no promise "p1" (100% sure)');
      expect(error.message).toBe(`5 NOT_FOUND: no promise "p1" (100% sure)`);
      expect(error.metadata.get("resonate-code")).toEqual(["PROMISE_NOT_FOUND"]);
      expect(error.metadata.get("trace-bin")).toEqual([Buffer.from([1, 2, 3])]);
    } finally {
      channel.close();
    }
  });

  test("a method the server does not have fails UNIMPLEMENTED", async () => {
    const channel = new Channel(address);
    try {
      await expect(channel.call("/test.Echo/Nope", bytes("x"))).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      channel.close();
    }
  });

  test("an address nobody listens on fails UNAVAILABLE", async () => {
    const unused = net.createServer();
    await new Promise<void>((resolve) => unused.listen(0, "127.0.0.1", resolve));
    const port = (unused.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => unused.close(() => resolve()));
    const channel = new Channel(`127.0.0.1:${port}`);
    try {
      await expect(channel.call("/test.Echo/Echo", bytes("x"))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      channel.close();
    }
  });

  test("a call past its deadline fails DEADLINE_EXCEEDED", async () => {
    const channel = new Channel(address);
    try {
      await expect(channel.call("/test.Echo/Hang", bytes("x"), { deadline: Date.now() + 50 })).rejects.toMatchObject({
        code: grpc.status.DEADLINE_EXCEEDED,
      });
      await expect(channel.call("/test.Echo/Echo", bytes("x"), { deadline: Date.now() - 1 })).rejects.toMatchObject({
        code: grpc.status.DEADLINE_EXCEEDED,
      });
    } finally {
      channel.close();
    }
  });

  test("aborting the signal cancels the call (CANCELLED)", async () => {
    const channel = new Channel(address);
    try {
      const abort = new AbortController();
      const call = channel.call("/test.Echo/Hang", bytes("x"), { signal: abort.signal });
      abort.abort();
      await expect(call).rejects.toMatchObject({ code: grpc.status.CANCELLED });
      await expect(channel.call("/test.Echo/Echo", bytes("x"), { signal: abort.signal })).rejects.toMatchObject({
        code: grpc.status.CANCELLED,
      });
    } finally {
      channel.close();
    }
  });

  test("a response larger than the limit fails RESOURCE_EXHAUSTED; one at the limit arrives", async () => {
    const channel = new Channel(address, { maxReceiveMessageBytes: 100_000 });
    try {
      expect((await channel.call("/test.Echo/Big", bytes("100000"))).length).toBe(100_000);
      await expect(channel.call("/test.Echo/Big", bytes("100001"))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    } finally {
      channel.close();
    }
  });

  test("request metadata reaches the server", async () => {
    let seen: string | undefined;
    const probe = new grpc.Server();
    probe.addService({ echo: method("Echo") }, {
      echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        seen = String(call.metadata.get("authorization")[0]);
        callback(null, call.request);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      probe.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const channel = new Channel(`127.0.0.1:${port}`);
    try {
      await channel.call("/test.Echo/Echo", bytes("x"), { metadata: { authorization: "Bearer t0k3n" } });
      expect(seen).toBe("Bearer t0k3n");
    } finally {
      channel.close();
      probe.forceShutdown();
    }
  });

  test("a second connection opens only once the first carries callsPerConnection calls, up to maxConnections", async () => {
    const channel = new Channel(address, { maxConnections: 2, callsPerConnection: 3 });
    try {
      const before = connections;
      const first = Array.from({ length: 3 }, (_, i) => channel.call("/test.Echo/Slow", bytes(`a${i}`)));
      await expect.poll(() => parked.length).toBe(3);
      expect(connections - before).toBe(1);
      const more = Array.from({ length: 5 }, (_, i) => channel.call("/test.Echo/Slow", bytes(`b${i}`)));
      await expect.poll(() => parked.length).toBe(8);
      expect(connections - before).toBe(2);
      for (const { callback, request } of parked.splice(0)) callback(null, request);
      expect((await Promise.all([...first, ...more])).map(text)).toEqual(["a0", "a1", "a2", "b0", "b1", "b2", "b3", "b4"]);
    } finally {
      channel.close();
    }
  });

  test("a request larger than the HTTP/2 flow-control window arrives whole", async () => {
    const channel = new Channel(address);
    try {
      const big = Buffer.alloc(300_000, 9);
      big.write("start", 0);
      big.write("end", big.length - 3);
      expect(Buffer.from(await channel.call("/test.Echo/Echo", big)).equals(big)).toBe(true);
    } finally {
      channel.close();
    }
  });

  test("calls beyond the server's concurrent-stream limit wait for a stream, then all complete", async () => {
    const limited = new grpc.Server({ "grpc.max_concurrent_streams": 2 });
    const held: grpc.sendUnaryData<Buffer>[] = [];
    const requests: string[] = [];
    limited.addService({ slow: method("Slow") }, {
      slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        requests.push(text(call.request));
        held.push((err, value) => callback(err, value ?? call.request));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      limited.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const channel = new Channel(`127.0.0.1:${port}`, { maxConnections: 1 });
    try {
      // A first call, so the client knows the server's settings (streams opened before them are refused).
      const first = channel.call("/test.Echo/Slow", bytes("warm-up"));
      await expect.poll(() => held.length).toBe(1);
      held.shift()!(null);
      await first;
      requests.length = 0;
      const calls = Array.from({ length: 5 }, (_, i) => channel.call("/test.Echo/Slow", bytes(`c${i}`)));
      await expect.poll(() => held.length).toBe(2);
      // Answer what the server holds until every call got through.
      await expect
        .poll(() => {
          for (const answer of held.splice(0)) answer(null);
          return requests.length;
        })
        .toBe(5);
      for (const answer of held.splice(0)) answer(null);
      expect((await Promise.all(calls)).map(text)).toEqual(["c0", "c1", "c2", "c3", "c4"]);
    } finally {
      channel.close();
      limited.forceShutdown();
    }
  });

  test("a server shutting down (GOAWAY) still answers the calls in flight; later calls fail UNAVAILABLE", async () => {
    const closing = new grpc.Server();
    const held: (() => void)[] = [];
    closing.addService({ slow: method("Slow") }, {
      slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => held.push(() => callback(null, call.request)),
    });
    const port = await new Promise<number>((resolve, reject) =>
      closing.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const channel = new Channel(`127.0.0.1:${port}`);
    try {
      const inFlight = channel.call("/test.Echo/Slow", bytes("before"));
      await expect.poll(() => held.length).toBe(1);
      const shutDown = new Promise<void>((resolve) => closing.tryShutdown(() => resolve()));
      // Once the server has said GOAWAY (it stops listening too), a new call gets no answer.
      await expect.poll(() => channel.call("/test.Echo/Slow", bytes("after")).then(() => "answered", (e: UnaryCallError) => e.code)).toBe(grpc.status.UNAVAILABLE);
      held.shift()!();
      expect(text(await inFlight)).toBe("before");
      await shutDown;
    } finally {
      channel.close();
      closing.forceShutdown();
    }
  });

  test("after close, calls fail UNAVAILABLE", async () => {
    const channel = new Channel(address);
    await channel.call("/test.Echo/Echo", bytes("x"));
    channel.close();
    await expect(channel.call("/test.Echo/Echo", bytes("x"))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});
