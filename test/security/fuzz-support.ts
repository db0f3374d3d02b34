// What the fuzz tests share: a fixed seed and bounded runs, generators of
// random and mutated inputs (protobuf messages built from the method's
// descriptor, byte-level mutations of valid encodings, hostile JSON), raw
// HTTP/2 calls that report what the node answered whatever the bytes, and the
// checks every fuzz case ends with: the node is alive and still serves valid
// traffic, and a refused request wrote nothing.

import http2 from "node:http2";
import { create, toBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";
import { expect } from "vitest";
import { fromProtocolRequest, GrpcStatus, rpcOf } from "@resonate-mesh/node/client";
import type { Request } from "@resonate-mesh/node/protocol";
import { opArb, toRequest } from "../../node/test/protocol/generator.ts";
import { T0, startTestNode, type TestNode } from "../envelope/helpers.ts";

/** One seed for every fuzz test: a failure replays exactly (override with RESONATE_FUZZ_SEED). */
export const SEED = Number(process.env.RESONATE_FUZZ_SEED ?? 20261202);
/** Scales every run count (RESONATE_FUZZ_SCALE=10 for a long local run). */
const SCALE = Number(process.env.RESONATE_FUZZ_SCALE ?? 1);

export function runs(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

export function fuzzParams(n: number, path?: string): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: runs(n), endOnFailure: true, ...(path !== undefined ? { path } : {}) };
}

/** gRPC statuses that mean the node failed, not the input: never an answer to bad input. */
export const NODE_FAILURES = new Set<number>([GrpcStatus.INTERNAL, GrpcStatus.UNKNOWN, GrpcStatus.DATA_LOSS]);

export { startTestNode, T0, type TestNode };

// ------------------------------------------------------------------ valid traffic

/** Valid requests (the protocol property generator's), the seeds mutations start from. */
export const validRequestArb: fc.Arbitrary<Request> = opArb
  .map((op) => toRequest(op, T0, () => 1))
  .filter((r): r is Request => r !== undefined);

let probes = 0;

/** The node answers a valid create and reads it back: it is alive and still serves. */
export async function expectStillServing(node: TestNode): Promise<void> {
  const id = `probe-${++probes}`;
  const created = await node.grpc({ kind: "promise.create", data: { id, timeoutAt: T0 + 3_600_000, param: { headers: {}, data: "" }, tags: {} } } as never);
  expect(created.status, `a valid create after fuzzing: ${JSON.stringify(created)}`).toBe(200);
  const read = await node.send({ kind: "promise.get", data: { id } });
  expect(read.status).toBe(200);
  expect(read.body.data.promise.id).toBe(id);
}

let cases = 0;

/** Every 50th fuzz case, a valid create and read in between: fuzzed traffic does not break valid traffic. */
export async function interleaveValid(node: TestNode): Promise<void> {
  if (++cases % 50 === 0) await expectStillServing(node);
}

/** Records in the store, to compare before and after a refused request. */
export async function snapshot(node: TestNode): Promise<string> {
  return JSON.stringify(await node.dump());
}

// ------------------------------------------------------------------ protobuf messages

const I64 = 2n ** 63n;
const interestingInts = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1];

function scalarArb(type: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 1: // double
    case 2: // float
      return fc.oneof(fc.double(), fc.constantFrom(0, -0, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN));
    case 3: // int64
    case 16: // sfixed64
    case 18: // sint64
      return fc.oneof(fc.bigInt(-I64, I64 - 1n), fc.constantFrom(0n, -1n, I64 - 1n, -I64, 2n ** 53n, 4_102_444_800_000n));
    case 4: // uint64
    case 6: // fixed64
      return fc.oneof(fc.bigInt(0n, 2n * I64 - 1n), fc.constantFrom(0n, 2n * I64 - 1n, 2n ** 53n + 1n));
    case 5: // int32
    case 15: // sfixed32
    case 17: // sint32
      return fc.oneof(fc.integer(), fc.constantFrom(...interestingInts.filter((n) => n >= -(2 ** 31) && n < 2 ** 31)));
    case 7: // fixed32
    case 13: // uint32
      return fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(0, 2 ** 32 - 1));
    case 8:
      return fc.boolean();
    case 9:
      return stringArb;
    case 12:
      return fc.uint8Array({ maxLength: 64 });
    default:
      return fc.constant(undefined);
  }
}

/** Strings a node must survive: empty, unicode, control characters, separators, long. */
export const stringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 2, arbitrary: fc.constantFrom("", "a", "a.1", "a:1", "poll://any@g", "poll://uni@g/1", "*", "%", "\u0000", "../..", "{{.id}}", "resonate:target") },
  { weight: 1, arbitrary: fc.nat({ max: 70_000 }).map((n) => "x".repeat(n)) },
);

function fieldValueArb(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalarArb(field.scalar);
    case "enum":
      return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), fc.integer({ min: -5, max: 1000 }));
    case "message":
      return depth >= 3 ? fc.constant(undefined) : messageValueArb(field.message, depth + 1);
    case "list": {
      const element =
        field.listKind === "scalar"
          ? scalarArb(field.scalar)
          : field.listKind === "enum"
            ? fc.integer({ min: -2, max: 20 })
            : depth >= 3
              ? fc.constant(undefined)
              : messageValueArb(field.message, depth + 1);
      return fc.array(element, { maxLength: depth === 0 ? 12 : 4 }).map((xs) => xs.filter((x) => x !== undefined));
    }
    case "map": {
      const value =
        field.mapKind === "scalar"
          ? scalarArb(field.scalar)
          : field.mapKind === "enum"
            ? fc.integer({ min: -2, max: 20 })
            : depth >= 3
              ? fc.constant(undefined)
              : messageValueArb(field.message, depth + 1);
      const key = field.mapKey === 9 ? stringArb : scalarArb(field.mapKey).map(String);
      return fc.dictionary(key as fc.Arbitrary<string>, value, { maxKeys: 6 }).map((d) => {
        for (const k of Object.keys(d)) if (d[k] === undefined) delete d[k];
        return d;
      });
    }
  }
}

/** A random value of every field (a oneof: one of its fields), as `create()` takes it. */
function messageValueArb(desc: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      parts[member.localName] = fc.oneof(
        fc.constant(undefined),
        ...member.fields.map((f) => fieldValueArb(f, depth).map((value) => ({ case: f.localName, value }))),
      );
    } else {
      parts[member.localName] = fc.option(fieldValueArb(member, depth), { freq: 3, nil: undefined });
    }
  }
  return fc.record(parts).map((value) => {
    for (const k of Object.keys(value)) if (value[k] === undefined) delete value[k];
    return value;
  });
}

/** The bytes of a random message of type `desc`; a value `toBinary` refuses becomes random bytes. */
export function randomMessageArb(desc: DescMessage): fc.Arbitrary<Uint8Array> {
  return fc.tuple(messageValueArb(desc, 0), fc.uint8Array({ maxLength: 32 })).map(([value, fallback]) => {
    try {
      return toBinary(desc, create(desc, value as never));
    } catch {
      return fallback;
    }
  });
}

/** The encoding of a valid request of this method (when the protocol generator makes one). */
export function encodeRequest(request: Request): { path: string; bytes: Uint8Array } {
  const { service, method } = rpcOf(request.kind);
  const message = fromProtocolRequest(request as never);
  return { path: `/${service.typeName}/${method.name}`, bytes: toBinary(method.input, create(method.input, message as never)) };
}

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "overwrite"; at: number; bytes: Uint8Array }
  | { op: "duplicate" };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ op: fc.constant("overwrite" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.constant({ op: "duplicate" as const }),
);

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : ("at" in m ? m.at : 0) % (out.length + 1);
    switch (m.op) {
      case "flip":
        if (out.length > 0) out[at % out.length]! ^= 1 << m.bit;
        break;
      case "truncate":
        out = out.subarray(0, at);
        break;
      case "insert":
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case "overwrite":
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(Math.min(out.length, at + m.bytes.length))]);
        break;
      case "duplicate":
        // A repeated message on the wire: protobuf merges it, fields may turn into lists.
        out = Buffer.concat([out, out]);
        break;
    }
  }
  return out;
}

/** A valid encoding with one to four byte-level mutations. */
export const mutatedRequestArb: fc.Arbitrary<{ path: string; bytes: Uint8Array }> = fc
  .tuple(validRequestArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
  .map(([request, mutations]) => {
    const { path, bytes } = encodeRequest(request);
    return { path, bytes: mutate(bytes, mutations) };
  });

// ------------------------------------------------------------------ raw HTTP/2

export interface RawAnswer {
  /** The gRPC status, when the node sent one. */
  grpcStatus?: number;
  grpcMessage?: string;
  /** `:status` of the response headers. */
  httpStatus?: number;
  /** A stream that was accepted and still open when we stopped reading. */
  open: boolean;
  /** Messages received before we stopped. */
  messages: number;
}

/**
 * One call over a raw HTTP/2 session: `body` goes out as is (give it framed
 * or not). A unary call is read to its end; a server stream (`stream`) for
 * `waitMs` after its headers, then cancelled if still open.
 */
export async function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  body: Uint8Array,
  options: { waitMs?: number; headers?: http2.OutgoingHttpHeaders; stream?: boolean } = {},
): Promise<RawAnswer> {
  return await new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...options.headers });
    const answer: RawAnswer = { open: false, messages: 0 };
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      resolve(answer);
    };
    const hardStop = setTimeout(() => {
      answer.open = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      done();
    }, 30_000);
    const read = (headers: http2.IncomingHttpHeaders) => {
      if (headers[":status"] !== undefined) answer.httpStatus = Number(headers[":status"]);
      if (headers["grpc-status"] !== undefined) {
        answer.grpcStatus = Number(headers["grpc-status"]);
        answer.grpcMessage = decodeURIComponent(String(headers["grpc-message"] ?? ""));
      }
    };
    stream.on("response", (headers) => {
      read(headers);
      // A unary answer's status comes in its trailers, whenever they come; only a server stream is hung up on.
      if (answer.grpcStatus === undefined && options.stream === true) {
        // A server stream that stays open: it was accepted; look a little longer, then hang up.
        timer = setTimeout(() => {
          clearTimeout(hardStop);
          answer.open = true;
          stream.close(http2.constants.NGHTTP2_CANCEL);
          done();
        }, options.waitMs ?? 20);
      }
    });
    stream.on("trailers", read);
    stream.on("data", () => (answer.messages += 1));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(hardStop);
      if (answer.httpStatus === undefined && answer.grpcStatus === undefined && !answer.open) {
        reject(new Error(`the node reset the stream on ${path} without an answer (code ${stream.rstCode})`));
        return;
      }
      done();
    });
    stream.end(body);
  });
}

/** The 5-byte gRPC framing around a message. */
export function frame(message: Uint8Array, compressed = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A fresh HTTP/2 (prior knowledge) session to the node. */
export function h2Session(node: TestNode): http2.ClientHttp2Session {
  const session = http2.connect(node.url);
  session.on("error", () => undefined);
  return session;
}
