// OpenTelemetry traces, switched on by the standard OTEL_* environment
// variables: OTEL_TRACES_EXPORTER=otlp (or console), or an
// OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT with no
// exporter named; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none keep
// them off. Off, nothing of the trace SDK is even loaded and the request
// path pays one boolean test.
//
// The trace context travels in a promise's headers (`traceparent`,
// `tracestate`, W3C trace context): the SDK writes the current context into
// every promise it creates, and a worker continues the trace from the
// promise it executes. The same few functions serve the node and the SDK.

import { context, propagation, ROOT_CONTEXT, trace, type Context, type TextMapGetter, type Tracer } from "@opentelemetry/api";

/** The headers of the W3C trace context. */
export const TRACE_HEADERS = ["traceparent", "tracestate"] as const;

/** Do the OTEL_* variables ask for traces? */
export function tracesRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== "");
  if (exporters.includes("none")) return false;
  if (exporters.length > 0) return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface Tracing {
  /** Send what is buffered now (before a process exits). */
  flush(): Promise<void>;
}

let started: Promise<Tracing | undefined> | undefined;
let active = false;

/** Is a trace SDK collecting spans in this process (ours from the environment, or one the program registered)? */
export function tracingActive(): boolean {
  return active;
}

/** A tracer named for its instrumentation scope (a no-op one when tracing is off). */
export function tracer(scope: string): Tracer {
  return trace.getTracer(scope);
}

/**
 * Start the trace SDK as the OTEL_* variables say, once per process: the
 * node calls it at start-up, the SDK when a client is created. Resolves
 * undefined when traces are off. A program that registered its own
 * OpenTelemetry SDK before keeps it (its spans get ours as children).
 */
export function startTracing(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  started ??= open(defaultServiceName, env);
  return started;
}

async function open(defaultServiceName: string, env: NodeJS.ProcessEnv): Promise<Tracing | undefined> {
  if (programRegisteredTracing()) {
    active = true;
    return { flush: async () => undefined };
  }
  if (!tracesRequested(env)) return undefined;
  // Loaded only when wanted: a node without traces does not pay for the SDK.
  const [{ NodeTracerProvider }, { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
    ]);
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((e) => e.trim().toLowerCase());
  const processors = [];
  if (exporters.includes("otlp") || exporters.includes("")) processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  if (exporters.includes("console")) processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME?.trim() || defaultServiceName }),
    spanProcessors: processors,
  });
  // Also the W3C propagator and the AsyncLocalStorage context manager, so a span started in one await is the parent in the next.
  provider.register();
  active = true;
  return { flush: () => provider.forceFlush() };
}

/** Has something other than us set a global tracer provider already? */
function programRegisteredTracing(): boolean {
  const provider = trace.getTracerProvider() as { getDelegate?: () => object };
  const delegate = provider.getDelegate?.() ?? provider;
  return delegate.constructor.name !== "NoopTracerProvider";
}

// ------------------------------------------------------------ the context in promise headers

const headerGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === "string" ? value : Array.isArray(value) && typeof value[0] === "string" ? value[0] : undefined;
  },
};

/** The trace context written into `headers` (a copy with `traceparent`/`tracestate` added); `headers` itself when there is none. */
export function withTraceContext(headers: Record<string, string>, ctx: Context = context.active()): Record<string, string> {
  if (!active || trace.getSpanContext(ctx) === undefined) return headers;
  const out = { ...headers };
  propagation.inject(ctx, out);
  return out;
}

/** The context a promise's headers (or any header map) carry; undefined when they carry none. */
export function traceContextOf(headers: Record<string, unknown> | undefined): Context | undefined {
  if (headers === undefined || typeof headers.traceparent !== "string") return undefined;
  const ctx = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  return trace.getSpanContext(ctx) === undefined ? undefined : ctx;
}
