// The unary gRPC calls of a client (the SDK's durable steps, the CLI's
// requests), speaking HTTP/2 frames itself over a few TCP or TLS connections.
//
// Why not node:http2 (UnaryChannel, api/grpc/unary-channel.ts): on Node 20
// its client wraps every request in an AsyncResource (bind() builds two
// deprecation wrappers per call), makes a Duplex stream per call, emits each
// event through process.nextTick, and allocates about 13 KB per call; a
// worker's profile spent more than half its CPU in it and in the GC it
// caused. A unary call needs much less: one HEADERS + DATA write, and a
// parse of the HEADERS, DATA and trailers that come back. Here a call is
// one object and one buffer; the method's request headers are encoded once;
// the frames of a loop turn leave in one write per connection; a plaintext
// socket reads into one shared buffer (no stream events); one timer per
// channel watches every deadline. Not done: transparent retry of a stream
// the server refused (REFUSED_STREAM fails UNAVAILABLE, as with UnaryChannel).
//
// Same interface and failure shapes as UnaryChannel (the same `settle` turns
// what arrived into the answer or the error), so NodeClient swaps one for
// the other and node/test/api/unary-channel.test.ts runs against both.

import net from "node:net";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import {
  callError,
  extraRoots,
  frame,
  grpcTimeout,
  settle,
  timeLeft,
  type ClientTlsOptions,
  type UnaryCallError,
  type UnaryCallOptions,
  type UnaryChannelOptions,
} from "../api/grpc/unary-channel.ts";
import { encodeHeaders, HpackDecoder, type HeaderFields } from "./hpack.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

// Frame types (RFC 9113 §6).
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

// Flags.
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

// Error codes.
const NO_ERROR = 0x0;
const PROTOCOL_ERROR = 0x1;
const FLOW_CONTROL_ERROR = 0x3;
const FRAME_SIZE_ERROR = 0x6;
const REFUSED_STREAM = 0x7;
const CANCEL = 0x8;
const COMPRESSION_ERROR = 0x9;

// Settings.
const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** grpc-timeout as a literal field without indexing and with a literal name; its value follows. */
const TIMEOUT_FIELD = Buffer.from([0, 12, ...Buffer.from("grpc-timeout", "latin1")]);

const MAX_WINDOW = 2 ** 31 - 1;
/** What plaintext connections read into (see RawUnaryChannel.socket). */
const sharedReadBuffer = Buffer.allocUnsafe(64 * 1024);
const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME = 16_384;
/** Received bytes after which the connection's receive window is topped up again. */
const WINDOW_REFILL = 2 ** 30;
const MAX_STREAM_ID = 2 ** 31 - 1;
const DEFAULT_MAX_RECEIVE = 64 * 1024 * 1024;

/** The opening bytes of every connection: preface, our settings, the connection window opened wide. */
const OPENING = Buffer.concat([
  PREFACE,
  frameOf(SETTINGS, 0, 0, settingsPayload([
    [SETTINGS_ENABLE_PUSH, 0],
    [SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW],
  ])),
  frameOf(WINDOW_UPDATE, 0, 0, uint32(MAX_WINDOW - DEFAULT_WINDOW)),
]);

export class RawUnaryChannel {
  private readonly authority: string;
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly tls: ClientTlsOptions;
  private readonly maxReceive: number;
  private readonly maxConnections: number;
  private readonly callsPerConnection: number;
  private readonly userAgent: string;
  private connections: RawConnection[] = [];
  private closed = false;
  /** Request header blocks by path, for the metadata object they were built with. */
  private blocks = new Map<string, Buffer>();
  private blocksFor: Readonly<Record<string, string>> | undefined;
  /** Calls waiting for a stream because every connection is at the node's concurrent-stream limit. */
  private readonly waiting: Call[] = [];
  /**
   * Calls with a deadline, watched by one timer. Ended calls are dropped
   * lazily (when the timer fires, or once they are half the array), as a
   * Set's delete reallocates its table when it empties.
   */
  private deadlines: Call[] = [];
  private liveDeadlines = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineAt = Infinity;

  /** `address` is `host:port` (IPv6 in brackets). */
  constructor(address: string, options: UnaryChannelOptions = {}) {
    const url = new URL(`http://${address}`);
    this.authority = address;
    this.host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = Number(url.port || 80);
    this.secure = options.secure ?? false;
    this.tls = options.tls ?? {};
    this.maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE;
    this.maxConnections = Math.max(1, options.maxConnections ?? 4);
    this.callsPerConnection = Math.max(1, options.callsPerConnection ?? 16);
    this.userAgent = options.userAgent ?? "resonate-mesh";
  }

  /** Call `path` (`/package.Service/Method`) with an encoded request; resolves to the encoded response. */
  call(path: string, request: Uint8Array, options: UnaryCallOptions = {}): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => this.start(path, request, options, resolve, reject));
  }

  private start(
    path: string,
    request: Uint8Array,
    options: UnaryCallOptions,
    resolve: (response: Uint8Array) => void,
    reject: (error: UnaryCallError) => void,
  ): void {
    const remaining = timeLeft(this.closed, options);
    if (typeof remaining === "object") return reject(remaining);
    const { deadline, signal } = options;

    const timeout = remaining === undefined ? undefined : grpcTimeout(remaining);
    const call = new Call(this, this.headerBlock(path, options.metadata), timeout, request, deadline, signal, resolve, reject);
    if (deadline !== undefined) this.watchDeadline(call, deadline);
    const connection = this.connect();
    if (connection === undefined) this.waiting.push(call);
    else connection.open(call);
  }

  /** Close the connections once the calls in flight on them have finished; later calls fail. */
  close(): void {
    this.closed = true;
    for (const call of this.waiting.splice(0)) call.fail(callError(grpc.status.UNAVAILABLE, "the channel is closed"));
    for (const connection of [...this.connections]) connection.drain();
    this.connections = [];
  }

  // ------------------------------------------------------------ called by connections and calls

  /** @internal A connection can take no more calls (GOAWAY, closed, out of stream ids). */
  forget(connection: RawConnection): void {
    const i = this.connections.indexOf(connection);
    if (i >= 0) this.connections.splice(i, 1);
    this.startWaiting();
  }

  /** @internal A call ended: one waiting may start. */
  ended(call: Call): void {
    if (call.deadline !== undefined) this.liveDeadlines--;
    if (this.waiting.length > 0) this.startWaiting();
  }

  /** @internal A waiting call that ended before it got a stream (deadline, abort). */
  unqueue(call: Call): void {
    const i = this.waiting.indexOf(call);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  // ------------------------------------------------------------ internals

  private startWaiting(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const connection = this.connect();
      if (connection === undefined) return;
      connection.open(this.waiting.shift()!);
    }
  }

  /**
   * The request headers of `path` as one HPACK block, but for grpc-timeout:
   * they are the same on every call of a path, so they are encoded once.
   */
  private headerBlock(path: string, metadata: Readonly<Record<string, string>> | undefined): Buffer {
    if (metadata !== this.blocksFor) {
      this.blocks = new Map();
      this.blocksFor = metadata;
    }
    let fixed = this.blocks.get(path);
    if (fixed === undefined) {
      const fields: [string, string][] = [
        [":method", "POST"],
        [":scheme", this.secure ? "https" : "http"],
        [":path", path],
        [":authority", this.authority],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["user-agent", this.userAgent],
      ];
      for (const [name, value] of Object.entries(metadata ?? {})) fields.push([name.toLowerCase(), value]);
      fixed = encodeHeaders(fields);
      if (this.blocks.size < 64) this.blocks.set(path, fixed);
    }
    return fixed;
  }

  /** The least busy connection that can open a stream, a new one when all are busy and there is room; none: wait. */
  private connect(): RawConnection | undefined {
    let best: RawConnection | undefined;
    for (const connection of this.connections) {
      if (!connection.usable) continue;
      if (best === undefined || connection.active < best.active) best = connection;
    }
    if (best !== undefined && best.active < this.callsPerConnection && best.hasRoom) return best;
    if (this.connections.length < this.maxConnections) {
      const connection = new RawConnection(this, (onRead) => this.socket(onRead), this.maxReceive, this.authority);
      this.connections.push(connection);
      return connection;
    }
    return best !== undefined && best.hasRoom ? best : undefined;
  }

  /**
   * A plaintext socket reads into one buffer shared by every connection of the
   * process (`onread`), so a read makes no Buffer and no stream events; what is
   * kept past `onRead` is copied. A TLS socket emits 'data' (`onRead` unused).
   */
  private socket(onRead: (bytes: Buffer) => void): net.Socket {
    if (!this.secure) {
      return net.connect({
        host: this.host,
        port: this.port,
        noDelay: true,
        onread: {
          buffer: sharedReadBuffer,
          callback: (size: number, buffer: Uint8Array) => {
            onRead((buffer as Buffer).subarray(0, size));
            return true;
          },
        },
      });
    }
    const socket = tls.connect({
      host: this.host,
      port: this.port,
      servername: net.isIP(this.host) === 0 ? this.host : undefined,
      ALPNProtocols: ["h2"],
      ca: this.tls.ca ?? extraRoots(),
      cert: this.tls.cert,
      key: this.tls.key,
    });
    socket.setNoDelay(true);
    return socket;
  }

  private watchDeadline(call: Call, deadline: number): void {
    this.deadlines.push(call);
    this.liveDeadlines++;
    if (this.deadlines.length > 64 && this.deadlines.length > 2 * this.liveDeadlines) {
      this.deadlines = this.deadlines.filter((c) => !c.done);
    }
    if (deadline < this.deadlineAt) this.armDeadlines(deadline);
  }

  private armDeadlines(at: number): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimeout(() => this.checkDeadlines(), Math.max(0, at - Date.now()));
    // The calls' connections keep the process alive while calls are in flight.
    this.deadlineTimer.unref();
  }

  private checkDeadlines(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    const calls = this.deadlines;
    // Failing a call may start waiting ones, which add their deadlines to the new array.
    this.deadlines = [];
    for (const call of calls) {
      if (call.done) continue;
      if (call.deadline! <= now) {
        call.fail(callError(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded"));
        continue;
      }
      this.deadlines.push(call);
      if (call.deadline! < next) next = call.deadline!;
    }
    if (next !== Infinity) this.armDeadlines(next);
  }
}

/** One call: what it sends, what has arrived, and how it ends. */
class Call {
  /** Set once it has a stream. */
  connection: RawConnection | undefined;
  streamId = 0;
  /** The framed request while flow control holds some of it back (sent up to `sendOffset`). */
  body: Buffer | undefined;
  sendOffset = 0;
  sendWindow = 0;
  headers: HeaderFields | undefined;
  trailers: HeaderFields | undefined;
  chunks: Buffer[] = [];
  received = 0;
  done = false;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    readonly channel: RawUnaryChannel,
    /** The request headers but grpc-timeout, HPACK-encoded. */
    private readonly fixedBlock: Buffer,
    /** grpc-timeout's value. */
    private readonly timeout: string | undefined,
    readonly request: Uint8Array,
    readonly deadline: number | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (response: Uint8Array) => void,
    private readonly reject: (error: UnaryCallError) => void,
  ) {
    if (signal !== undefined) {
      this.onAbort = () => this.fail(callError(grpc.status.CANCELLED, "Cancelled on client"));
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  get blockLength(): number {
    return this.fixedBlock.length + (this.timeout === undefined ? 0 : TIMEOUT_FIELD.length + 1 + this.timeout.length);
  }

  /** Write the request's header block at `at` of `out`; returns where it ends. */
  writeBlock(out: Buffer, at: number): number {
    at += this.fixedBlock.copy(out, at);
    if (this.timeout === undefined) return at;
    // A literal field without indexing: the name's bytes, then the value's length (< 127) and bytes.
    at += TIMEOUT_FIELD.copy(out, at);
    out[at++] = this.timeout.length;
    return at + out.write(this.timeout, at, "latin1");
  }

  /** Stop the call here with `error` (the node is told with RST_STREAM CANCEL). */
  fail(error: UnaryCallError): void {
    if (this.done) return;
    if (this.connection === undefined) this.channel.unqueue(this);
    else this.connection.cancel(this);
    this.finish(error);
  }

  /** The stream ended (END_STREAM, RST_STREAM, or the connection went): settle from what arrived. */
  closed(rstCode: number | undefined, connectionFailure: Error | null | undefined): void {
    if (this.done) return;
    this.finish(settle(this.headers, this.trailers, this.chunks, rstCode, connectionFailure));
  }

  private finish(outcome: Uint8Array | UnaryCallError): void {
    this.done = true;
    if (this.onAbort !== undefined) this.signal?.removeEventListener("abort", this.onAbort);
    this.channel.ended(this);
    if (outcome instanceof Uint8Array) this.resolve(outcome);
    else this.reject(outcome);
  }
}

/** One connection to the node and the calls on it. */
class RawConnection {
  /** Calls in flight. */
  private readonly streams = new StreamTable();
  private nextStreamId = 1;
  private readonly decoder = new HpackDecoder();
  /** Bytes read but not yet a whole frame. */
  private pending: Buffer | undefined;
  /** A header block spread over HEADERS + CONTINUATION frames. */
  private headerFragments: { streamId: number; endStream: boolean; parts: Buffer[] } | undefined;
  /** Writes of this turn, sent together at the end of it. */
  private out: Buffer[] = [];
  private flushScheduled = false;
  private connected = false;
  private receivedSinceRefill = 0;
  /** The node's settings. */
  private peerMaxStreams = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private connectionSendWindow = DEFAULT_WINDOW;
  /** Calls with request bytes held back by flow control, in order. */
  private blocked: Call[] = [];
  /** No new streams (GOAWAY, closing, ids used up). */
  private draining = false;
  private gone = false;
  /** Why the connection failed, once it has. */
  private error: Error | undefined;
  private referenced = false;

  /** Read bytes live in a shared buffer until the read callback returns: keep copies. */
  private readonly borrowed: boolean;
  private readonly socket: net.Socket;

  constructor(
    private readonly channel: RawUnaryChannel,
    open: (onRead: (bytes: Buffer) => void) => net.Socket,
    private readonly maxReceive: number,
    private readonly authority: string,
  ) {
    const socket = (this.socket = open((bytes) => this.onData(bytes)));
    this.borrowed = !(socket instanceof tls.TLSSocket);
    socket.unref();
    const ready = socket instanceof tls.TLSSocket ? "secureConnect" : "connect";
    socket.once(ready, () => this.onConnect());
    if (!this.borrowed) socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err: Error) => {
      this.error ??= err;
    });
    socket.on("close", () => this.onClose());
    this.out.push(OPENING);
  }

  get active(): number {
    return this.streams.size;
  }

  get usable(): boolean {
    return !this.draining && !this.gone;
  }

  get hasRoom(): boolean {
    return this.streams.size < this.peerMaxStreams;
  }

  open(call: Call): void {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    if (this.nextStreamId > MAX_STREAM_ID) this.drain();
    call.connection = this;
    call.streamId = id;
    call.sendWindow = this.peerInitialWindow;
    this.streams.add(call);
    if (!this.referenced) {
      this.referenced = true;
      this.socket.ref();
    }
    const blockLength = call.blockLength;
    const bodyLength = 5 + call.request.length;
    if (blockLength <= this.peerMaxFrame && bodyLength <= Math.min(this.peerMaxFrame, call.sendWindow, this.connectionSendWindow)) {
      // The usual call: HEADERS and the one DATA frame, written into one buffer.
      const frame = Buffer.allocUnsafe(18 + blockLength + bodyLength);
      let at = frameHeader(frame, 0, blockLength, HEADERS, END_HEADERS, id);
      at = call.writeBlock(frame, at);
      at = frameHeader(frame, at, bodyLength, DATA, END_STREAM, id);
      frame[at] = 0;
      frame.writeUInt32BE(call.request.length, at + 1);
      frame.set(call.request, at + 5);
      call.sendWindow -= bodyLength;
      this.connectionSendWindow -= bodyLength;
      this.write(frame);
      return;
    }
    const block = Buffer.allocUnsafe(blockLength);
    call.writeBlock(block, 0);
    this.writeHeaders(call.streamId, block);
    call.body = frame(call.request);
    this.sendBody(call);
    if (call.sendOffset < call.body.length) this.blocked.push(call);
  }

  /** Tell the node to stop a call (RST_STREAM CANCEL) and forget it. */
  cancel(call: Call): void {
    if (!this.streams.remove(call)) return;
    this.unblock(call);
    this.write(frameOf(RST_STREAM, 0, call.streamId, uint32(CANCEL)));
    this.afterStreamEnd();
  }

  /** No new calls; close once the calls in flight have finished. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.channel.forget(this);
    if (this.streams.size === 0) this.shutdown();
  }

  // ------------------------------------------------------------ writing

  private write(frame: Buffer): void {
    this.out.push(frame);
    if (!this.connected || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(flushConnection, this);
  }

  /** @internal */
  flush(): void {
    this.flushScheduled = false;
    if (this.gone || this.out.length === 0) return;
    const frames = this.out;
    this.out = [];
    this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  private writeHeaders(streamId: number, block: Buffer): void {
    const max = this.peerMaxFrame;
    if (block.length <= max) {
      this.write(frameOf(HEADERS, END_HEADERS, streamId, block));
      return;
    }
    this.write(frameOf(HEADERS, 0, streamId, block.subarray(0, max)));
    for (let at = max; at < block.length; at += max) {
      const end = Math.min(block.length, at + max);
      this.write(frameOf(CONTINUATION, end === block.length ? END_HEADERS : 0, streamId, block.subarray(at, end)));
    }
  }

  /** Send as much of the call's request as the windows allow; the last DATA frame ends the stream. */
  private sendBody(call: Call): void {
    const body = call.body;
    if (body === undefined) return;
    while (call.sendOffset < body.length) {
      const size = Math.min(body.length - call.sendOffset, this.peerMaxFrame, call.sendWindow, this.connectionSendWindow);
      if (size <= 0) return;
      const end = call.sendOffset + size;
      this.write(frameOf(DATA, end === body.length ? END_STREAM : 0, call.streamId, body.subarray(call.sendOffset, end)));
      call.sendOffset = end;
      call.sendWindow -= size;
      this.connectionSendWindow -= size;
    }
  }

  private unblock(call: Call): void {
    if (this.blocked.length === 0) return;
    const i = this.blocked.indexOf(call);
    if (i >= 0) this.blocked.splice(i, 1);
  }

  private sendBlocked(): void {
    if (this.blocked.length === 0) return;
    const still: Call[] = [];
    for (const call of this.blocked) {
      this.sendBody(call);
      if (call.sendOffset < call.body!.length) still.push(call);
    }
    this.blocked = still;
  }

  // ------------------------------------------------------------ reading

  private onConnect(): void {
    if (this.socket instanceof tls.TLSSocket && this.socket.alpnProtocol !== "h2") {
      this.fatal(new Error(`${this.authority} did not agree to HTTP/2 (ALPN)`), NO_ERROR);
      return;
    }
    this.connected = true;
    this.flush();
  }

  private onData(chunk: Buffer): void {
    let buffer = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let offset = 0;
    while (!this.gone && buffer.length - offset >= 9) {
      const length = buffer.readUIntBE(offset, 3);
      if (length > DEFAULT_MAX_FRAME) {
        this.fatal(new Error(`the node sent a frame of ${length} bytes, above the ${DEFAULT_MAX_FRAME} allowed`), FRAME_SIZE_ERROR);
        return;
      }
      if (buffer.length - offset < 9 + length) break;
      const type = buffer[offset + 3]!;
      const flags = buffer[offset + 4]!;
      const streamId = buffer.readUInt32BE(offset + 5) & 0x7fffffff;
      const payload = buffer.subarray(offset + 9, offset + 9 + length);
      offset += 9 + length;
      this.onFrame(type, flags, streamId, payload);
    }
    if (offset < buffer.length && !this.gone) this.pending = this.keep(buffer.subarray(offset));
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.headerFragments !== undefined && type !== CONTINUATION) {
      return this.fatal(new Error("the node interrupted a header block"), PROTOCOL_ERROR);
    }
    switch (type) {
      case DATA:
        return this.onDataFrame(flags, streamId, payload);
      case HEADERS:
        return this.onHeaders(flags, streamId, payload);
      case CONTINUATION:
        return this.onContinuation(flags, streamId, payload);
      case RST_STREAM: {
        const call = this.streams.get(streamId);
        if (call === undefined) return;
        this.streams.remove(call);
        this.unblock(call);
        call.closed(payload.readUInt32BE(0), undefined);
        return this.afterStreamEnd();
      }
      case SETTINGS:
        if ((flags & ACK) === 0) this.onSettings(payload);
        return;
      case PING:
        if ((flags & ACK) === 0) this.write(frameOf(PING, ACK, 0, payload));
        return;
      case GOAWAY:
        return this.onGoaway(payload);
      case WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      case PUSH_PROMISE:
        return this.fatal(new Error("the node pushed a stream though push is disabled"), PROTOCOL_ERROR);
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1).
        return;
    }
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    this.receivedSinceRefill += payload.length;
    if (this.receivedSinceRefill >= WINDOW_REFILL) {
      this.write(frameOf(WINDOW_UPDATE, 0, 0, uint32(this.receivedSinceRefill)));
      this.receivedSinceRefill = 0;
    }
    const call = this.streams.get(streamId);
    if (call === undefined) return;
    const data = flags & PADDED ? unpad(payload) : payload;
    if (data === undefined) return this.fatal(new Error("the node sent a DATA frame with bad padding"), PROTOCOL_ERROR);
    if (data.length > 0) {
      call.received += data.length;
      // 5 bytes of framing around the one message.
      if (call.received > this.maxReceive + 5) {
        return call.fail(
          callError(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${call.received - 5} vs. ${this.maxReceive})`),
        );
      }
      call.chunks.push(this.keep(data));
    }
    if (flags & END_STREAM) this.endStream(call);
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    let block: Buffer | undefined = payload;
    if (flags & PADDED) block = unpad(block);
    if (block === undefined) return this.fatal(new Error("the node sent a HEADERS frame with bad padding"), PROTOCOL_ERROR);
    if (flags & PRIORITY) block = block.subarray(5);
    const endStream = (flags & END_STREAM) !== 0;
    if ((flags & END_HEADERS) === 0) {
      this.headerFragments = { streamId, endStream, parts: [this.keep(block)] };
      return;
    }
    this.onHeaderBlock(streamId, endStream, block);
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const fragments = this.headerFragments;
    if (fragments === undefined || fragments.streamId !== streamId) {
      return this.fatal(new Error("the node sent an unexpected CONTINUATION frame"), PROTOCOL_ERROR);
    }
    fragments.parts.push(this.keep(payload));
    if ((flags & END_HEADERS) === 0) return;
    this.headerFragments = undefined;
    this.onHeaderBlock(streamId, fragments.endStream, Buffer.concat(fragments.parts));
  }

  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    // Decoded even for a stream already gone: the dynamic table must follow every block.
    let fields: HeaderFields;
    try {
      fields = this.decoder.decode(block);
    } catch (err) {
      return this.fatal(err as Error, COMPRESSION_ERROR);
    }
    const call = this.streams.get(streamId);
    if (call === undefined) return;
    if (call.headers === undefined) call.headers = fields;
    else call.trailers = fields;
    if (endStream) this.endStream(call);
  }

  private endStream(call: Call): void {
    this.streams.remove(call);
    this.unblock(call);
    call.closed(undefined, undefined);
    this.afterStreamEnd();
  }

  private afterStreamEnd(): void {
    if (this.streams.size > 0) return;
    if (this.draining) return this.shutdown();
    if (this.referenced) {
      this.referenced = false;
      this.socket.unref();
    }
  }

  /** `bytes` as they may be kept after this read. */
  private keep(bytes: Buffer): Buffer {
    if (!this.borrowed) return bytes;
    // Not Buffer.from(bytes): from 4 KiB up it copies element by element (TypedArray.from).
    const copy = Buffer.allocUnsafe(bytes.length);
    bytes.copy(copy, 0);
    return copy;
  }

  private onSettings(payload: Buffer): void {
    for (let at = 0; at + 6 <= payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (id) {
        case SETTINGS_MAX_CONCURRENT_STREAMS:
          this.peerMaxStreams = value;
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) return this.fatal(new Error("the node set a window above 2^31-1"), FLOW_CONTROL_ERROR);
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const call of this.streams.calls) call.sendWindow += delta;
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          this.peerMaxFrame = value;
          break;
        case SETTINGS_HEADER_TABLE_SIZE:
        case SETTINGS_ENABLE_PUSH:
        default:
          // Our encoder uses no dynamic table, and we never push: nothing to adapt.
          break;
      }
    }
    this.write(frameOf(SETTINGS, ACK, 0, Buffer.alloc(0)));
    this.sendBlocked();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) this.connectionSendWindow += increment;
    else {
      const call = this.streams.get(streamId);
      if (call === undefined) return;
      call.sendWindow += increment;
    }
    this.sendBlocked();
  }

  private onGoaway(payload: Buffer): void {
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    // Streams above the last one the node will process never ran: refused, safe to send again.
    for (const call of [...this.streams.calls]) {
      if (call.streamId <= lastStreamId) continue;
      this.streams.remove(call);
      this.unblock(call);
      call.closed(REFUSED_STREAM, undefined);
    }
    this.drain();
    if (this.streams.size === 0) this.shutdown();
  }

  private onClose(): void {
    this.gone = true;
    this.connected = false;
    this.channel.forget(this);
    // Calls still open got no answer: the connection is gone (why, if it said).
    const failure = this.error ?? null;
    const calls = this.streams.clear();
    this.blocked = [];
    for (const call of calls) call.closed(undefined, failure);
  }

  /** A protocol failure: say why (GOAWAY) and drop the connection; its calls fail. */
  private fatal(error: Error, code: number): void {
    this.error ??= error;
    if (this.connected) {
      const payload = Buffer.alloc(8);
      // Last stream id 0: the node opened none.
      payload.writeUInt32BE(code, 4);
      this.out = [frameOf(GOAWAY, 0, 0, payload)];
      this.flush();
    }
    this.gone = true;
    this.socket.destroy();
  }

  private shutdown(): void {
    if (this.gone) return;
    if (this.connected) {
      this.flush();
      this.socket.end();
    } else {
      this.socket.destroy();
    }
    this.gone = true;
  }
}

/**
 * The calls of a connection, by stream id: an array searched in place, as a
 * connection carries a few dozen calls at most, and a Map's delete of its
 * last entries reallocates its table (on every call).
 */
class StreamTable {
  calls: Call[] = [];

  get size(): number {
    return this.calls.length;
  }

  get(streamId: number): Call | undefined {
    const calls = this.calls;
    for (let i = 0; i < calls.length; i++) if (calls[i]!.streamId === streamId) return calls[i];
    return undefined;
  }

  add(call: Call): void {
    this.calls.push(call);
  }

  /** False when it was not there. */
  remove(call: Call): boolean {
    const calls = this.calls;
    const i = calls.indexOf(call);
    if (i < 0) return false;
    const last = calls.pop()!;
    if (last !== call) calls[i] = last;
    return true;
  }

  clear(): Call[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

function flushConnection(connection: RawConnection): void {
  connection.flush();
}

function frameOf(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(9 + payload.length);
  frameHeader(frame, 0, payload.length, type, flags, streamId);
  frame.set(payload, 9);
  return frame;
}

/** The 9-byte frame header at `at` of `out`; returns where the payload starts. */
function frameHeader(out: Buffer, at: number, length: number, type: number, flags: number, streamId: number): number {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId, at + 5);
  return at + 9;
}

function settingsPayload(settings: [number, number][]): Buffer {
  const out = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    out.writeUInt16BE(id, 6 * i);
    out.writeUInt32BE(value, 6 * i + 2);
  });
  return out;
}

function uint32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}

/** A padded frame's payload without its padding; undefined when the padding does not fit. */
function unpad(payload: Buffer): Buffer | undefined {
  if (payload.length === 0) return undefined;
  const padding = payload[0]!;
  if (padding >= payload.length) return undefined;
  return payload.subarray(1, payload.length - padding);
}
