// The node's unary gRPC calls, served straight on node:http2 streams: the
// gRPC framing (a 5-byte prefix per message), `grpc-timeout`, compressed
// requests and the status trailers written out here.
//
// Why not grpc-js for these: per call it builds an intercepting call, a
// Metadata object each way, listener objects, a stream decoder and a read
// queue, and every unary call of the protocol (create, fence, settle, ...)
// paid for them; it was the largest cost of the node after protobuf. Its
// answers are reproduced here exactly (status codes, `grpc-message`, the
// trailers of status.ts, the texts of its framing errors), so clients see
// no difference. Server streams (Poll, Watch, health Watch, reflection) stay
// on grpc-js, which owns the HTTP/2 sessions (keepalive pings, idle
// timeout, graceful shutdown): `take` is called with each new stream of a
// session, cleartext or TLS, before grpc-js would see it.

import http2 from "node:http2";
import zlib from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import type { ServiceErrorLike } from "./handler.ts";

/** A request whose bytes are not a message of the method's type. */
export class UndecodableRequestError extends Error {
  constructor(typeName: string, cause: unknown) {
    super(`the request is not a valid ${typeName} message: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "UndecodableRequestError";
  }
}

/** One unary method: how its request is decoded and how a decoded request is answered (never rejects). */
export interface UnaryRoute {
  decode(bytes: Uint8Array): unknown;
  serve(
    request: unknown,
    authorization: string | undefined,
    carrier: () => Record<string, unknown> | undefined,
  ): Promise<{ response: Uint8Array } | { error: ServiceErrorLike }>;
}

export interface UnaryServerOptions {
  /** Largest request message accepted, in bytes (after decompression too). */
  maxReceiveMessageBytes: number;
}

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_PATH, HTTP_STATUS_OK, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE } =
  http2.constants;

/** The response headers of a call that answers a message (as grpc-js sends them). */
const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = Object.freeze({
  [HTTP2_HEADER_STATUS]: HTTP_STATUS_OK,
  [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
  "grpc-accept-encoding": "identity,deflate,gzip",
  "grpc-encoding": "identity",
});
const OK_TRAILERS: http2.OutgoingHttpHeaders = Object.freeze({ "grpc-status": grpc.status.OK, "grpc-message": "OK" });
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });
const END_STREAM = Object.freeze({ endStream: true });

const DEADLINE = /(\d{1,8})\s*([HMSmun])/;
const DEADLINE_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

interface Status {
  code: grpc.status;
  details: string;
  metadata?: grpc.Metadata;
}

export class UnaryServer {
  constructor(
    private readonly routes: ReadonlyMap<string, UnaryRoute>,
    private readonly options: UnaryServerOptions,
  ) {}

  /** Does this server answer `path`? */
  serves(headers: http2.IncomingHttpHeaders): boolean {
    const path = headers[HTTP2_HEADER_PATH];
    return typeof path === "string" && this.routes.has(path);
  }

  /** Answer a new stream whose path `serves` accepted. */
  serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // Errors also end in 'close'; without a listener an 'error' would crash the process.
    // (`on`, not `once`, here and below: each of these events comes at most once per stream, and `once` wraps every listener.)
    stream.on("error", ignore);
    const contentType = headers[HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== "string" || !contentType.startsWith("application/grpc")) {
      stream.respond({ [HTTP2_HEADER_STATUS]: HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE }, END_STREAM);
      return;
    }
    new UnaryCall(this.routes.get(headers[HTTP2_HEADER_PATH] as string)!, stream, headers, this.options.maxReceiveMessageBytes);
  }
}

function ignore(): void {}

/** One call: collect the request until the client half-closes, answer once, then ignore everything. */
class UnaryCall {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private done = false;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly route: UnaryRoute,
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly maxReceive: number,
  ) {
    stream.on("close", () => this.finish());
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("end", () => this.onEnd());
    const timeout = headers["grpc-timeout"];
    if (timeout !== undefined) this.startDeadline(timeout);
  }

  private startDeadline(header: string | string[]): void {
    const value = String(header);
    const match = DEADLINE.exec(value);
    if (match === null) {
      const status = { code: grpc.status.INTERNAL, details: `Invalid grpc-timeout value "${value}"` };
      process.nextTick(() => this.fail(status));
      return;
    }
    const ms = (Number(match[1]) * DEADLINE_UNIT_MS[match[2]!]!) | 0;
    this.deadline = setTimeout(() => this.fail({ code: grpc.status.DEADLINE_EXCEEDED, details: "Deadline exceeded" }), ms);
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.received += chunk.length;
    // Refuse an oversized message as soon as its length prefix is known, not after buffering it.
    const size = this.firstMessageSize();
    if (size !== undefined && size > this.maxReceive) {
      this.fail({ code: grpc.status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${size} vs ${this.maxReceive})` });
    }
  }

  private firstMessageSize(): number | undefined {
    if (this.received < 5) return undefined;
    const first = this.chunks[0]!;
    if (first.length >= 5) return first.readUInt32BE(1);
    return Buffer.concat(this.chunks).readUInt32BE(1);
  }

  private onEnd(): void {
    if (this.done) return;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks.length = 0;
    const path = this.headers[HTTP2_HEADER_PATH];
    if (body.length < 5 || body.length < 5 + body.readUInt32BE(1)) {
      // grpc-js's words for a unary call without a complete request message.
      this.fail({ code: grpc.status.UNIMPLEMENTED, details: `Received no request message for server streaming method ${path}` });
      return;
    }
    const size = body.readUInt32BE(1);
    const next = 5 + size;
    if (body.length >= next + 5 && body.length >= next + 5 + body.readUInt32BE(next + 1)) {
      this.fail({ code: grpc.status.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${path}` });
      return;
    }
    const payload = body.subarray(5, 5 + size);
    if (body[0] === 1) {
      this.decompress(payload).then(
        (bytes) => this.decodeAndServe(bytes),
        (status: Status) => this.fail(status),
      );
    } else {
      this.decodeAndServe(payload);
    }
  }

  /** A message flagged compressed, in the encoding the client named (identity when it named none, as grpc-js reads it). */
  private decompress(payload: Buffer): Promise<Buffer> {
    const encoding = String(this.headers["grpc-encoding"] ?? "identity");
    if (encoding === "identity") return Promise.resolve(payload);
    if (encoding !== "gzip" && encoding !== "deflate") {
      return Promise.reject<Buffer>({
        code: grpc.status.UNIMPLEMENTED,
        details: `Received message compressed with unsupported encoding "${encoding}"`,
      });
    }
    const inflate = encoding === "gzip" ? zlib.gunzip : zlib.inflate;
    return new Promise<Buffer>((resolve, reject) => {
      inflate(payload, { maxOutputLength: this.maxReceive + 1 }, (err, bytes) => {
        if (err === null && bytes.length <= this.maxReceive) return resolve(bytes);
        const tooLarge = (err as NodeJS.ErrnoException | null)?.code === "ERR_BUFFER_TOO_LARGE" || err === null;
        reject(
          tooLarge
            ? { code: grpc.status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${this.maxReceive}` }
            : { code: grpc.status.INTERNAL, details: "Failed to decompress message" },
        );
      });
    });
  }

  private decodeAndServe(bytes: Uint8Array): void {
    if (this.done) return;
    let request: unknown;
    try {
      request = this.route.decode(bytes);
    } catch (err) {
      // grpc-js says INTERNAL here; a request the caller got wrong is INVALID_ARGUMENT, naming its type.
      if (err instanceof UndecodableRequestError) this.fail({ code: grpc.status.INVALID_ARGUMENT, details: err.message });
      else this.fail({ code: grpc.status.INTERNAL, details: "Error deserializing request" });
      return;
    }
    const authorization = this.headers["authorization"];
    void this.route.serve(request, typeof authorization === "string" ? authorization : undefined, () => this.headers).then((result) => {
      if ("error" in result) this.fail(result.error);
      else this.answer(result.response);
    });
  }

  /** The closed stream (a cancelled call, an expired deadline) is left alone. */
  private cancelled(): boolean {
    if (!this.done && (this.stream.destroyed || this.stream.closed)) this.finish();
    return this.done;
  }

  private answer(message: Uint8Array): void {
    if (this.cancelled()) return;
    this.finish();
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const stream = this.stream;
    stream.respond(RESPONSE_HEADERS, WAIT_FOR_TRAILERS);
    stream.on("wantTrailers", () => stream.sendTrailers(OK_TRAILERS));
    stream.end(frame);
  }

  /** A trailers-only answer, as grpc-js sends one: the status, its message, then the error's metadata. */
  private fail(status: Status | ServiceErrorLike): void {
    if (this.cancelled()) return;
    this.finish();
    const headers: http2.OutgoingHttpHeaders = {
      "grpc-status": status.code,
      "grpc-message": encodeURI(status.details ?? ""),
      [HTTP2_HEADER_STATUS]: HTTP_STATUS_OK,
      [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
      ...status.metadata?.toHttp2Headers(),
    };
    this.stream.respond(headers, END_STREAM);
    // Whatever the client still sends is read and dropped, so its flow-control window does not stall the session.
    this.stream.resume();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.chunks.length = 0;
    if (this.deadline !== undefined) clearTimeout(this.deadline);
  }
}
