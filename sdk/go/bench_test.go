package resonate_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
)

// One call round trip from a Go client through the node to a Go worker and
// back: create the promise, dispatch, acquire, run, fulfil, watch. Measured
// with `go test -run '^$' -bench Call -benchtime 200x`; never asserted.
func BenchmarkCallRoundTrip(b *testing.B) {
	group := "go-bench"
	w, err := resonate.NewWorker(node.addr, group, "bench")
	if err != nil {
		b.Fatal(err)
	}
	w.Register("echo", echo["echo"])
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	<-w.Connected()
	client, err := resonate.Dial(node.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	callCtx, stop := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stop()
	prefix := time.Now().Format("150405.000000")
	for i := 0; b.Loop(); i++ {
		if _, err := client.Call(callCtx, prefix+"-"+strconv.Itoa(i), "echo", []any{i}, resonate.StartOptions{Group: group}); err != nil {
			b.Fatal(err)
		}
	}
}
