// OpenTelemetry in the SDK: a span per durable call, and the trace context
// in the headers of every promise it creates, so one trace follows a
// workflow from the caller through every worker that runs a part of it.
// The worker continues the trace from the headers of the promise it
// executes. Traces are on when the OTEL_* variables ask for them (the node
// package's telemetry module reads them) or when the program registered an
// OpenTelemetry SDK itself; off, every function here returns at once.

import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context } from "@opentelemetry/api";
import { traceContextOf, tracer, tracingActive, withTraceContext } from "@resonate-mesh/node/telemetry";
import type { Value } from "@resonate-mesh/node/protocol";

export { startTracing, tracesRequested, tracingActive, type Tracing } from "@resonate-mesh/node/telemetry";

const SCOPE = "@resonate-mesh/sdk";

/** One durable call's span: its context is current while the call's code runs. */
export interface CallSpan {
  readonly context: Context;
  /** End it: `error` marks it failed; `attributes` say more (how an attempt ended). */
  end(error?: unknown, attributes?: Attributes): void;
}

/** Start a span named `name` under `parent` (the current context by default); undefined when traces are off. */
export function startCallSpan(name: string, attributes: Attributes, parent?: Context, kind: SpanKind = SpanKind.INTERNAL): CallSpan | undefined {
  if (!tracingActive()) return undefined;
  parent ??= context.active();
  const span = tracer(SCOPE).startSpan(name, { kind, attributes }, parent);
  return {
    context: trace.setSpan(parent, span),
    end(error?: unknown, attributes?: Attributes) {
      if (attributes !== undefined) span.setAttributes(attributes);
      if (error !== undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      }
      span.end();
    },
  };
}

/** `param` with the trace context of `ctx` (default: the current one) in its headers. */
export function traced(param: Value, ctx?: Context): Value {
  if (!tracingActive()) return param;
  const headers = withTraceContext(param.headers ?? {}, ctx);
  return headers === param.headers ? param : { ...param, headers };
}

/** The trace context to continue for a promise this worker executes (none: a new trace). */
export function continuedFrom(headers: Record<string, string> | undefined): Context | undefined {
  if (!tracingActive()) return undefined;
  return traceContextOf(headers);
}

/** Run `fn` with `ctx` current (as is when there is none). */
export function runWithin<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx === undefined ? fn() : context.with(ctx, fn);
}

export { SpanKind };

/**
 * A child call about to be made from the current context: its spec with
 * that context in `headers` (stored in the child's param), and, for a local
 * child, the context remembered in `parents` as its span's parent.
 */
export function withTraceHeaders<S extends { kind: string; id: string }>(spec: S, parents: Map<string, Context>): S & { headers?: Record<string, string> } {
  const ctx = context.active();
  if (trace.getSpanContext(ctx) === undefined) return spec;
  if (spec.kind === "run") parents.set(spec.id, ctx);
  return { ...spec, headers: withTraceContext({}, ctx) };
}
