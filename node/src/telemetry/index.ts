// @resonate-mesh/node/telemetry: OpenTelemetry traces from the OTEL_*
// environment and the trace context in promise headers, for the node and
// the SDK alike.

export { startTracing, tracesRequested, tracingActive, tracer, traceContextOf, withTraceContext, TRACE_HEADERS, type Tracing } from "./tracing.ts";
export { traceRequest } from "./requests.ts";
