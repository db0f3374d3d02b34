// protobuf-es describes services; grpc-js serves and calls them. This adapter
// turns a `GenService` descriptor into a grpc-js `ServiceDefinition` (method
// path `/<package>.<Service>/<Method>`, protobuf binary on the wire) that
// works for both sides: `server.addService(serviceDefinition(S), impl)` and
// clients built with `makeGenericClientConstructor`. Methods are keyed by
// their protobuf-es local name (`get`, `registerCallback`), so handlers and
// client methods read like the generated types.

import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";

type MethodShape = GenServiceMethods[string];
type In<M extends MethodShape> = MessageShape<M["input"]>;
type Out<M extends MethodShape> = MessageShape<M["output"]>;

/** Server handlers for every method of `S`, typed by the generated messages. */
export type ServiceImplementation<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]["methodKind"] extends "unary"
    ? grpc.handleUnaryCall<In<S[K]>, Out<S[K]>>
    : S[K]["methodKind"] extends "server_streaming"
      ? grpc.handleServerStreamingCall<In<S[K]>, Out<S[K]>>
      : S[K]["methodKind"] extends "client_streaming"
        ? grpc.handleClientStreamingCall<In<S[K]>, Out<S[K]>>
        : grpc.handleBidiStreamingCall<In<S[K]>, Out<S[K]>>;
};

/** Per-call options of the promise-based client. */
export interface CallOptions {
  metadata?: grpc.Metadata;
  /** A Date or ms epoch after which the call fails with DEADLINE_EXCEEDED. */
  deadline?: grpc.Deadline;
  /** Aborting cancels the call (CANCELLED). */
  signal?: AbortSignal;
}

/** A promise-based client for every method of `S`: unary calls resolve to the response, server streams are grpc-js readable streams. */
export type ServiceClient<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]["methodKind"] extends "unary"
    ? (request: MessageInitShape<S[K]["input"]>, options?: CallOptions) => Promise<Out<S[K]>>
    : S[K]["methodKind"] extends "server_streaming"
      ? (request: MessageInitShape<S[K]["input"]>, options?: CallOptions) => grpc.ClientReadableStream<Out<S[K]>>
      : never;
} & {
  /** The underlying grpc-js client (channel state, waitForReady, close). */
  readonly grpcClient: grpc.Client;
  close(): void;
};

/** The gRPC method path, as on the wire. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function serialize<D extends DescMessage>(schema: D) {
  // Callers may hand over init shapes (plain objects); `create` fills the defaults toBinary expects.
  return (value: MessageInitShape<D> | MessageShape<D>): Buffer => {
    const message = isMessage(value, schema) ? value : create(schema, value as MessageInitShape<D>);
    const bytes = toBinary(schema, message);
    // A view, not a copy: toBinary's array is new and nobody else holds it.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserialize<D extends DescMessage>(schema: D) {
  return (bytes: Buffer): MessageShape<D> => fromBinary(schema, bytes);
}

/** The grpc-js definition of a protobuf-es service, for servers and clients alike. */
export function serviceDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: methodPath(method),
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serialize(method.input) as (value: unknown) => Buffer,
      requestDeserialize: deserialize(method.input),
      responseSerialize: serialize(method.output) as (value: unknown) => Buffer,
      responseDeserialize: deserialize(method.output),
    };
  }
  return definition as grpc.ServiceDefinition;
}

/** A request whose bytes are not a message of the method's type (kept so the handler can refuse it). */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/**
 * Register typed handlers for a service on a grpc-js server. grpc-js answers
 * a request that fails to decode with INTERNAL; here decoding never throws and
 * such a request is refused INVALID_ARGUMENT, naming the message type, before
 * it reaches the handler.
 */
export function addService<S extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<S>,
  implementation: ServiceImplementation<S>,
): void {
  const desc = service as unknown as DescService;
  const definition = serviceDefinition(desc) as Record<string, grpc.MethodDefinition<unknown, unknown>>;
  const handlers: Record<string, unknown> = {};
  for (const method of desc.methods) {
    const handler = (implementation as unknown as Record<string, (call: unknown, callback?: unknown) => void>)[method.localName];
    if (handler === undefined) continue;
    const refusal = (request: UndecodableRequest): grpc.StatusObject => ({
      code: grpc.status.INVALID_ARGUMENT,
      details: `the request is not a valid ${method.input.typeName} message: ${request.reason}`,
      metadata: new grpc.Metadata(),
    });
    definition[method.localName]!.requestDeserialize = (bytes: Buffer) => {
      try {
        return fromBinary(method.input, bytes);
      } catch (err) {
        return new UndecodableRequest(err instanceof Error ? err.message : String(err));
      }
    };
    handlers[method.localName] =
      method.methodKind === "unary"
        ? (call: { request: unknown }, callback: grpc.sendUnaryData<unknown>) =>
            call.request instanceof UndecodableRequest ? callback(refusal(call.request)) : handler(call, callback)
        : (call: { request: unknown } & NodeJS.EventEmitter) =>
            call.request instanceof UndecodableRequest ? void call.emit("error", refusal(call.request)) : handler(call);
  }
  server.addService(definition as grpc.ServiceDefinition, handlers as grpc.UntypedServiceImplementation);
}

/** The grpc-js client class of a service (`new Ctor(address, credentials, options)`). */
export function clientConstructor(service: DescService): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(serviceDefinition(service), service.typeName);
}

/** Options for `createClient` besides grpc-js channel options. */
export interface ClientOptions {
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}

/** Channel defaults: responses (search pages of large payloads) may exceed grpc-js's 4 MiB default. */
export const defaultChannelOptions: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
};

/**
 * A promise-based client of `service` at `address` (`host:port`). Clients of
 * several services created with the same address and options share one
 * HTTP/2 connection (grpc-js pools subchannels).
 */
export function createClient<S extends GenServiceMethods>(
  service: GenService<S>,
  address: string,
  options: ClientOptions = {},
): ServiceClient<S> {
  const desc = service as unknown as DescService;
  const Ctor = clientConstructor(desc);
  const client = new Ctor(address, options.credentials ?? grpc.credentials.createInsecure(), {
    ...defaultChannelOptions,
    ...options.channelOptions,
  });
  const result: Record<string, unknown> = {
    grpcClient: client,
    close: () => client.close(),
  };
  for (const method of desc.methods) {
    const call = (client as unknown as Record<string, Function>)[method.localName]!.bind(client);
    if (method.methodKind === "unary") {
      result[method.localName] = (request: unknown, callOptions: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          const grpcCall: grpc.ClientUnaryCall = call(
            request,
            callOptions.metadata ?? new grpc.Metadata(),
            { deadline: callOptions.deadline },
            (err: grpc.ServiceError | null, response: unknown) => (err ? reject(err) : resolve(response)),
          );
          bindAbort(callOptions.signal, grpcCall);
        });
    } else if (method.methodKind === "server_streaming") {
      result[method.localName] = (request: unknown, callOptions: CallOptions = {}) => {
        const stream: grpc.ClientReadableStream<unknown> = call(request, callOptions.metadata ?? new grpc.Metadata(), {
          deadline: callOptions.deadline,
        });
        bindAbort(callOptions.signal, stream);
        return stream;
      };
    }
  }
  return result as ServiceClient<S>;
}

function bindAbort(signal: AbortSignal | undefined, call: { cancel(): void }): void {
  if (!signal) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener("abort", () => call.cancel(), { once: true });
}
