// Fuzz: gRPC unary calls. For every unary method of the public services,
// random messages built from its request type, valid requests with byte-level
// mutations, and random bytes (framed, and mis-framed). The node never answers
// INTERNAL/UNKNOWN, a refusal writes nothing, and a valid call after each case
// still works.

import type http2 from "node:http2";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PromiseService, ScheduleService, TaskService } from "@resonate-mesh/node/proto";
import {
  expectStillServing,
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
  type RawAnswer,
  type TestNode,
} from "./fuzz-support.ts";

let node: TestNode;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  node = await startTestNode();
  session = h2Session(node);
});

afterAll(async () => {
  session?.close();
  await node?.close();
});

const unary = [PromiseService, TaskService, ScheduleService].flatMap((service) =>
  Object.values(service.method)
    .filter((m) => m.methodKind === "unary")
    .map((m) => ({ path: `/${service.typeName}/${m.name}`, input: m.input })),
);

/** Send, and check the rules every answer must keep. */
async function check(path: string, body: Uint8Array): Promise<RawAnswer> {
  const before = await snapshot(node);
  const answer = await rawCall(session, path, body);
  expect(answer.httpStatus, `${path}: HTTP status`).toBe(200);
  expect(answer.grpcStatus, `${path}: a gRPC status`).toBeDefined();
  expect(NODE_FAILURES.has(answer.grpcStatus!), `${path} answered ${answer.grpcStatus}: ${answer.grpcMessage}`).toBe(false);
  if (answer.grpcStatus !== 0) {
    expect(answer.grpcMessage, `${path}: a refusal says why`).not.toBe("");
    expect(await snapshot(node), `${path} refused (${answer.grpcStatus} ${answer.grpcMessage}) yet wrote`).toBe(before);
  }
  await interleaveValid(node);
  return answer;
}

describe("fuzzing gRPC unary calls", () => {
  it(`answers random messages of each method's request type without a node failure, writing nothing on refusal (${unary.length} methods)`, async () => {
    for (const { path, input } of unary) {
      await fc.assert(
        fc.asyncProperty(randomMessageArb(input), async (bytes) => {
          await check(path, frame(bytes));
        }),
        fuzzParams(60),
      );
      await expectStillServing(node);
    }
  }, 120_000);

  it("answers valid requests with byte-level mutations without a node failure, writing nothing on refusal", async () => {
    await fc.assert(
      fc.asyncProperty(mutatedRequestArb, async ({ path, bytes }) => {
        await check(path, frame(bytes));
      }),
      fuzzParams(800),
    );
    await expectStillServing(node);
  }, 120_000);

  it("answers random bytes, framed or mis-framed, without a node failure", async () => {
    const bodyArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => frame(b)),
      // A compressed flag no one negotiated, a length that lies, no frame at all.
      fc.uint8Array({ maxLength: 100 }).map((b) => frame(b, 1)),
      fc.tuple(fc.uint8Array({ maxLength: 100 }), fc.nat()).map(([b, n]) => {
        const f = frame(b);
        f.writeUInt32BE(n % 5_000, 1);
        return f;
      }),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...unary.map((u) => u.path)), bodyArb, async (path, body) => {
        const before = await snapshot(node);
        const answer = await rawCall(session, path, body);
        expect(NODE_FAILURES.has(answer.grpcStatus ?? 0), `${path} answered ${answer.grpcStatus}: ${answer.grpcMessage}`).toBe(false);
        if (answer.grpcStatus !== 0) expect(await snapshot(node)).toBe(before);
      }),
      fuzzParams(500),
    );
    await expectStillServing(node);
  }, 120_000);
});
