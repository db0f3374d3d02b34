package resonate_test

import (
	"context"
	"errors"
	"math"
	"math/big"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
	meshv1 "github.com/resonate-mesh/mesh/sdk/go/gen/resonate/mesh/v1"
)

// startWorker runs a worker of a fresh group with `funcs` until the test ends.
func startWorker(t *testing.T, addr string, funcs map[string]resonate.Func, configure ...func(*resonate.Worker)) (*resonate.Worker, string) {
	t.Helper()
	group := "go-" + uniqueID(t)
	w, err := resonate.NewWorker(addr, group, "w1")
	if err != nil {
		t.Fatal(err)
	}
	for name, fn := range funcs {
		w.Register(name, fn)
	}
	for _, c := range configure {
		c(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the worker did not stop within 30 s")
		}
	})
	select {
	case <-w.Connected():
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not join its group within 30 s")
	}
	return w, group
}

func dial(t *testing.T, addr string) *resonate.Client {
	t.Helper()
	c, err := resonate.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var echo = map[string]resonate.Func{
	"echo": func(ctx context.Context, call *resonate.Call) (any, error) { return call.Args[0], nil },
}

func TestValuesRoundTripThroughAWorker(t *testing.T) {
	_, group := startWorker(t, node.addr, echo)
	client := dial(t, node.addr)
	beyond, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	cases := []struct {
		name  string
		value any
		want  any
	}{
		{"unicode text", "héllo, 世界 🎉 \u0000 \"quoted\"", "héllo, 世界 🎉 \u0000 \"quoted\""},
		{"an integer beyond 2^53 comes back as a bigint", int64(math.MaxInt64), big.NewInt(math.MaxInt64)},
		{"a bigint beyond int64", beyond, beyond},
		{"nested objects", map[string]any{"a": []any{1, map[string]any{"b": nil, "c": true}}, "d": 2.5},
			map[string]any{"a": []any{int64(1), map[string]any{"b": nil, "c": true}}, "d": 2.5}},
		{"null", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := testContext(t, 60*time.Second)
			got, err := client.Call(ctx, uniqueID(t), "echo", []any{c.value}, resonate.StartOptions{Group: group})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("echo(%v) = %#v, want %#v", c.value, got, c.want)
			}
		})
	}
}

func TestAnErrorRejectsWithItsNameAndMessage(t *testing.T) {
	_, group := startWorker(t, node.addr, map[string]resonate.Func{
		"reserve": func(ctx context.Context, call *resonate.Call) (any, error) {
			return nil, resonate.NewError("InventoryError", "out of stock: "+call.Args[0].(string))
		},
	})
	client := dial(t, node.addr)
	_, err := client.Call(testContext(t, 60*time.Second), uniqueID(t), "reserve", []any{"lamp"}, resonate.StartOptions{Group: group})
	var e *resonate.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *resonate.Error, got %T %v", err, err)
	}
	if e.Name != "InventoryError" || e.Message != "out of stock: lamp" {
		t.Fatalf("got %q %q", e.Name, e.Message)
	}
}

func TestAPanicRejectsInsteadOfCrashingTheWorker(t *testing.T) {
	_, group := startWorker(t, node.addr, map[string]resonate.Func{
		"explode": func(ctx context.Context, call *resonate.Call) (any, error) { panic("kaboom") },
		"echo":    echo["echo"],
	})
	client := dial(t, node.addr)
	ctx := testContext(t, 60*time.Second)
	_, err := client.Call(ctx, uniqueID(t), "explode", nil, resonate.StartOptions{Group: group})
	var e *resonate.Error
	if !errors.As(err, &e) || e.Name != "Panic" || e.Message != "kaboom" {
		t.Fatalf("want a Panic error, got %v", err)
	}
	if got, err := client.Call(ctx, uniqueID(t), "echo", []any{"still here"}, resonate.StartOptions{Group: group}); err != nil || got != "still here" {
		t.Fatalf("the worker no longer serves: %v %v", got, err)
	}
}

// The param a TypeScript client writes for rpc("add", 1, 2): the worker
// decodes it, and the result is the JSON a TypeScript reader decodes.
func TestATypeScriptInvocationRunsAndAnswersInTypeScriptEncoding(t *testing.T) {
	_, group := startWorker(t, node.addr, map[string]resonate.Func{
		"add": func(ctx context.Context, call *resonate.Call) (any, error) {
			return call.Args[0].(int64) + call.Args[1].(int64), nil
		},
	})
	client := dial(t, node.addr)
	ctx := testContext(t, 60*time.Second)
	id := uniqueID(t)
	_, err := client.Promises.Create(ctx, &meshv1.PromiseServiceCreateRequest{
		Id:        id,
		TimeoutAt: time.Now().Add(time.Hour).UnixMilli(),
		Param:     &meshv1.Value{Data: []byte(`{"func":"add","args":[40,2],"version":1}`)},
		Tags: map[string]string{
			"resonate:origin": id, "resonate:branch": id, "resonate:parent": id,
			"resonate:scope": "global", "resonate:target": "poll://any@" + group,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Await(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, err := client.Promises.Get(ctx, &meshv1.PromiseServiceGetRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if p := got.GetPromise(); p.GetState() != meshv1.PromiseState_PROMISE_STATE_RESOLVED || string(p.GetValue().GetData()) != "42" {
		t.Fatalf("got %s %q, want RESOLVED \"42\"", p.GetState(), p.GetValue().GetData())
	}
}

// A function that runs for several leases completes on the worker that
// started it: heartbeats keep the task, so it is never dispatched again.
func TestHeartbeatsKeepALongCallOnItsWorker(t *testing.T) {
	var runs atomic.Int32
	_, group := startWorker(t, node.addr, map[string]resonate.Func{
		"slow": func(ctx context.Context, call *resonate.Call) (any, error) {
			runs.Add(1)
			select {
			case <-time.After(4 * time.Second):
				return "done", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}, func(w *resonate.Worker) { w.TTL = 1500 * time.Millisecond })
	client := dial(t, node.addr)
	got, err := client.Call(testContext(t, 60*time.Second), uniqueID(t), "slow", nil, resonate.StartOptions{Group: group})
	if err != nil || got != "done" {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the function ran %d times, want 1", n)
	}
}

// A worker stopped mid-call releases the task after its grace period, and
// another worker of the group finishes it.
func TestAStoppedWorkerReleasesItsTaskToTheGroup(t *testing.T) {
	started := make(chan struct{}, 1)
	group := "go-" + uniqueID(t)
	first, err := resonate.NewWorker(node.addr, group, "first")
	if err != nil {
		t.Fatal(err)
	}
	first.Grace = 200 * time.Millisecond
	first.Register("job", func(ctx context.Context, call *resonate.Call) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- first.Run(ctx) }()
	<-first.Connected()

	client := dial(t, node.addr)
	id := uniqueID(t)
	callCtx := testContext(t, 60*time.Second)
	if _, err := client.Start(callCtx, id, "job", nil, resonate.StartOptions{Group: group}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the first worker never ran the job")
	}
	stop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}

	second, err := resonate.NewWorker(node.addr, group, "second")
	if err != nil {
		t.Fatal(err)
	}
	second.Register("job", func(ctx context.Context, call *resonate.Call) (any, error) { return "finished by second", nil })
	secondCtx, stopSecond := context.WithCancel(context.Background())
	defer stopSecond()
	go func() { _ = second.Run(secondCtx) }()

	got, err := client.Await(callCtx, id)
	if err != nil || got != "finished by second" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// The worker survives its node going away: it reconnects with backoff and
// serves the node that comes back on the same address.
func TestTheWorkerReconnectsWhenTheNodeComesBack(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	own, err := startNode(port)
	if err != nil {
		t.Fatal(err)
	}
	w, group := startWorker(t, own.addr, echo)
	own.stop()
	restarted, err := startNode(port)
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.stop()
	select {
	case <-w.Connected():
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not rejoin its group within 30 s")
	}
	client := dial(t, restarted.addr)
	got, err := client.Call(testContext(t, 60*time.Second), uniqueID(t), "echo", []any{"again"}, resonate.StartOptions{Group: group})
	if err != nil || got != "again" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// A stop lets a running call finish within the grace period and settles it.
func TestAStopLetsRunningCallsFinishWithinTheGrace(t *testing.T) {
	started := make(chan struct{}, 1)
	group := "go-" + uniqueID(t)
	w, err := resonate.NewWorker(node.addr, group, "w1")
	if err != nil {
		t.Fatal(err)
	}
	w.Grace = 30 * time.Second
	w.Register("job", func(ctx context.Context, call *resonate.Call) (any, error) {
		started <- struct{}{}
		time.Sleep(time.Second)
		return "finished during the stop", nil
	})
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	<-w.Connected()

	client := dial(t, node.addr)
	id := uniqueID(t)
	callCtx := testContext(t, 60*time.Second)
	if _, err := client.Start(callCtx, id, "job", nil, resonate.StartOptions{Group: group}); err != nil {
		t.Fatal(err)
	}
	<-started
	stop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	got, err := client.Await(callCtx, id)
	if err != nil || got != "finished during the stop" {
		t.Fatalf("got %v, %v", got, err)
	}
}
