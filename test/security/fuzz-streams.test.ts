// Fuzz: the streams. The worker's gRPC Poll stream and a promise's Watch
// stream get random and mutated request messages and odd strings for group,
// pid and id; the SSE inbox GET /poll/:group/:pid gets random path segments,
// bad percent-encodings and odd headers. No answer is INTERNAL/UNKNOWN or
// 5xx, a refusal writes nothing, and afterwards a real worker stream still gets its
// work and a real Watch still sees its promise settle.

import http from "node:http";
import type http2 from "node:http2";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeClient } from "@resonate-mesh/node/client";
import type { Message, PromiseRecord } from "@resonate-mesh/node/protocol";
import { PromiseService, TaskService } from "@resonate-mesh/node/proto";
import { SseClient } from "../envelope/helpers.ts";
import { waitFor } from "../support/wait.ts";
import {
  frame,
  fuzzParams,
  h2Session,
  interleaveValid,
  mutatedRequestArb,
  NODE_FAILURES,
  randomMessageArb,
  rawCall,
  snapshot,
  startTestNode,
  stringArb,
  T0,
  type TestNode,
} from "./fuzz-support.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { TaskServicePollRequestSchema, PromiseServiceWatchRequestSchema } from "@resonate-mesh/node/proto";

let node: TestNode;
let session: http2.ClientHttp2Session;
let client: NodeClient;

beforeAll(async () => {
  node = await startTestNode();
  session = h2Session(node);
  client = new NodeClient({ address: node.server.address });
});

afterAll(async () => {
  client?.close();
  session?.close();
  await node?.close();
});

const POLL = `/${TaskService.typeName}/${TaskService.method.poll.name}`;
const WATCH = `/${PromiseService.typeName}/${PromiseService.method.watch.name}`;
let seq = 0;

async function createTargeted(id: string, target: string): Promise<void> {
  const answer = await node.send({ kind: "promise.create", data: { id, timeoutAt: T0 + 3_600_000, tags: { "resonate:target": target } } });
  expect(answer.status).toBe(200);
}

/** A worker's Poll stream still receives the execute of a new targeted promise. */
async function expectPollDelivers(): Promise<void> {
  const group = `fuzz-live-${++seq}`;
  const got: Message[] = [];
  let opened = false;
  const stream = client.poll(group, "w1", { onOpen: () => (opened = true), onData: (m) => got.push(m), onEnd: () => undefined });
  try {
    await waitFor("the Poll stream to open", () => opened, 10_000, 10);
    await createTargeted(`live-${seq}`, `poll://any@${group}`);
    await waitFor("the execute on the Poll stream", () => got.some((m) => m.kind === "execute" && m.task.id === `live-${seq}`), 10_000, 10);
  } finally {
    stream.cancel();
  }
}

/** Send one stream request; check what every answer must keep. */
async function checkStream(path: string, body: Uint8Array): Promise<void> {
  const before = await snapshot(node);
  const answer = await rawCall(session, path, body, { stream: true });
  expect(NODE_FAILURES.has(answer.grpcStatus ?? 0), `${path} answered ${answer.grpcStatus}: ${answer.grpcMessage}`).toBe(false);
  expect(answer.httpStatus, `${path}: HTTP status`).toBe(200);
  if (answer.grpcStatus !== undefined && answer.grpcStatus !== 0) {
    // An accepted Watch registers its listener; a refused stream writes nothing.
    expect(answer.grpcMessage, `${path}: a refusal says why`).not.toBe("");
    expect(await snapshot(node), `${path} refused (${answer.grpcStatus} ${answer.grpcMessage}) yet wrote`).toBe(before);
  }
  await interleaveValid(node);
}

describe("fuzzing the Poll stream", () => {
  it("answers random and mutated Poll requests and odd groups and pids without a node failure, writing nothing on refusal", async () => {
    const bodyArb = fc.oneof(
      randomMessageArb(TaskServicePollRequestSchema),
      fc.record({ group: stringArb, pid: stringArb }).map((r) => toBinary(TaskServicePollRequestSchema, create(TaskServicePollRequestSchema, r))),
      mutatedRequestArb.map((m) => m.bytes),
      fc.uint8Array({ maxLength: 64 }),
    );
    await fc.assert(
      fc.asyncProperty(bodyArb, async (bytes) => {
        await checkStream(POLL, frame(bytes));
      }),
      fuzzParams(400),
    );
    await expectPollDelivers();
  }, 120_000);
});

describe("fuzzing the Watch stream", () => {
  it("answers random and mutated Watch requests and odd ids without a node failure, writing nothing on refusal", async () => {
    await createTargeted("watched", "poll://any@nobody");
    const bodyArb = fc.oneof(
      randomMessageArb(PromiseServiceWatchRequestSchema),
      fc.oneof(stringArb, fc.constantFrom("watched", "watched.1", "")).map((id) => toBinary(PromiseServiceWatchRequestSchema, create(PromiseServiceWatchRequestSchema, { id }))),
      mutatedRequestArb.map((m) => m.bytes),
      fc.uint8Array({ maxLength: 64 }),
    );
    await fc.assert(
      fc.asyncProperty(bodyArb, async (bytes) => {
        await checkStream(WATCH, frame(bytes));
      }),
      fuzzParams(400),
    );
    // A real Watch still sees its promise settle.
    const id = `watch-live-${++seq}`;
    await createTargeted(id, "poll://any@nobody");
    const states: PromiseRecord[] = [];
    let opened = false;
    const stream = client.watch(id, { onOpen: () => (opened = true), onData: (p) => states.push(p), onEnd: () => undefined });
    try {
      await waitFor("the Watch stream to open", () => opened || states.length > 0, 10_000, 10);
      expect((await node.send({ kind: "promise.settle", data: { id, state: "resolved" } })).status).toBe(200);
      await waitFor("the settled state on the Watch stream", () => states.some((p) => p.state === "resolved"), 10_000, 10);
    } finally {
      stream.cancel();
    }
  }, 120_000);
});

/** GET a raw path with headers; the status (a 200 SSE stream is closed at once). */
async function rawGet(path: string, headers: Record<string, string>): Promise<number | "client-refused"> {
  const port = node.server.port;
  return await new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = http.request({ host: "127.0.0.1", port, path, headers, agent: false });
    } catch {
      // Node's HTTP client refuses to send it (unescaped characters, bad header): nothing reached the node.
      resolve("client-refused");
      return;
    }
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to GET ${path}`)));
    req.on("response", (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on("error", reject);
    req.end();
  });
}

const segmentArb = fc.oneof(
  stringArb.map(encodeURIComponent),
  fc.constantFrom("", "%", "%ZZ", "%E0%A4%A", "%00", "..", ".", "a%2Fb", "%2e%2e", "~", "a:b", "*", "x".repeat(5_000)),
  fc.string({ unit: fc.constantFrom("a", "%", "2", "F", "/", "?", "#", ";", "=", "&"), maxLength: 12 }),
);

describe("fuzzing the SSE poll endpoint", () => {
  it("answers odd paths and headers on GET /poll/:group/:pid below 500, writing nothing", async () => {
    const requestArb = fc.record({
      segments: fc.array(segmentArb, { minLength: 0, maxLength: 4 }),
      query: fc.option(fc.string({ maxLength: 20 }).map(encodeURIComponent), { nil: undefined }),
      headers: fc.dictionary(
        fc.constantFrom("last-event-id", "accept", "authorization", "cache-control", "x-forwarded-for"),
        fc.string({ unit: fc.constantFrom("a", " ", "/", "*", "=", "1", ","), maxLength: 30 }),
        { maxKeys: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ segments, query, headers }) => {
        const path = `/poll/${segments.join("/")}${query !== undefined ? `?${query}` : ""}`;
        const before = await snapshot(node);
        const status = await rawGet(path, headers);
        if (status === "client-refused") return;
        expect(status, `GET ${path.slice(0, 200)}`).toBeLessThan(500);
        expect(await snapshot(node)).toBe(before);
      }),
      fuzzParams(600),
    );
    // A real SSE worker still gets its work.
    const group = `sse-live-${++seq}`;
    const sse = await SseClient.open(node.url, group, "w1");
    try {
      expect(sse.status).toBe(200);
      await createTargeted(`sse-live-${seq}`, `poll://any@${group}`);
      await sse.waitFor((messages) => messages.some((m) => m.kind === "execute" && m.data.task.id === `sse-live-${seq}`), 10_000);
    } finally {
      await sse.close();
    }
  }, 120_000);
});
