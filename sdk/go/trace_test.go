package resonate_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
	meshv1 "github.com/resonate-mesh/mesh/sdk/go/gen/resonate/mesh/v1"
)

const (
	traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tracestate  = "vendor=value"
)

func TestACallStartedInsideAFunctionCarriesTheTraceContextOfThePromiseItRuns(t *testing.T) {
	var w *resonate.Worker
	var group string
	w, group = startWorker(t, node.addr, map[string]resonate.Func{
		"inner": func(ctx context.Context, call *resonate.Call) (any, error) { return "inner done", nil },
		"outer": func(ctx context.Context, call *resonate.Call) (any, error) {
			child := call.ID + ".inner"
			if _, err := w.Client().Start(ctx, child, "inner", nil, resonate.StartOptions{Group: group}); err != nil {
				return nil, err
			}
			return child, nil
		},
	})
	client := dial(t, node.addr)
	ctx := testContext(t, 60*time.Second)
	// The root as a traced caller creates it: the trace context in ctx goes into its param headers.
	traced := resonate.WithTraceContext(ctx, map[string]string{"traceparent": traceparent, "tracestate": tracestate})
	child, err := client.Call(traced, uniqueID(t), "outer", nil, resonate.StartOptions{Group: group})
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: child.(string)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"traceparent": traceparent, "tracestate": tracestate}
	if headers := got.GetPromise().GetParam().GetHeaders(); !reflect.DeepEqual(headers, want) {
		t.Fatalf("the child's param headers are %v, want %v", headers, want)
	}
}

func TestAnUntracedCallWritesNoTraceHeaders(t *testing.T) {
	_, group := startWorker(t, node.addr, echo)
	client := dial(t, node.addr)
	ctx := testContext(t, 60*time.Second)
	id := uniqueID(t)
	if _, err := client.Start(ctx, id, "echo", []any{1}, resonate.StartOptions{Group: group}); err != nil {
		t.Fatal(err)
	}
	got, err := client.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if headers := got.GetPromise().GetParam().GetHeaders(); len(headers) != 0 {
		t.Fatalf("the param headers are %v, want none", headers)
	}
}
