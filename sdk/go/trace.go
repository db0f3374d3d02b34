package resonate

import "context"

// The W3C trace context (traceparent, tracestate) travels in a promise's
// param headers: the TypeScript SDK writes the caller's context there and the
// node reads it for its spans. A Go worker hands the context of the promise it
// runs to its function in ctx, and Client.Start writes the context found in
// ctx into the promise it creates, so a call made from inside a function
// continues the caller's trace. No OpenTelemetry dependency is needed for that.

// TraceHeaders are the param headers that carry the trace context.
var TraceHeaders = []string{"traceparent", "tracestate"}

type traceKey struct{}

// WithTraceContext returns ctx carrying the trace context found in `headers`
// (a promise's param headers); ctx itself when they carry none.
func WithTraceContext(ctx context.Context, headers map[string]string) context.Context {
	trace := map[string]string{}
	for _, k := range TraceHeaders {
		if v, ok := headers[k]; ok && v != "" {
			trace[k] = v
		}
	}
	if trace["traceparent"] == "" {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, trace)
}

// TraceContext is the trace context ctx carries (nil when none): the headers
// to put into the param of a promise created on its behalf.
func TraceContext(ctx context.Context) map[string]string {
	trace, _ := ctx.Value(traceKey{}).(map[string]string)
	if trace == nil {
		return nil
	}
	out := make(map[string]string, len(trace))
	for k, v := range trace {
		out[k] = v
	}
	return out
}
