package resonate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	meshv1 "github.com/resonate-mesh/mesh/sdk/go/gen/resonate/mesh/v1"
)

// Call is one invocation of a registered function, decoded from its
// promise's param {func, args, version} exactly as the TypeScript SDK writes it.
type Call struct {
	// ID of the promise the call settles.
	ID       string
	Function string
	Args     []any
	Version  int
	Promise  *meshv1.Promise
}

// Func is a registered function. Its result resolves the promise; an error
// rejects it, with the error's name (see Error, or an ErrorName() method;
// "Error" otherwise) and message. ctx ends when the worker stops for good.
type Func func(ctx context.Context, call *Call) (any, error)

// Worker runs registered functions for one group: it joins the group on a
// Poll stream, acquires each task it is sent, runs the function while
// heartbeats keep its lease, and fulfils the task with the result.
type Worker struct {
	// Group the worker joins (poll://any@Group).
	Group string
	// PID identifies this process within the group (poll://uni@Group/PID).
	PID string
	// TTL is the lease of an acquired task; heartbeats renew it every TTL/3. 30 s when zero.
	TTL time.Duration
	// Grace is how long Run waits, once its context ends, for running
	// functions before releasing their tasks to other workers. 10 s when zero.
	Grace time.Duration
	// Logger; slog.Default() when nil.
	Logger *slog.Logger

	client *Client
	mu     sync.Mutex
	funcs  map[string]Func
	held   map[string]*running
	wg     sync.WaitGroup
	// connected is signalled each time the Poll stream is registered (for tests and readiness).
	connected chan struct{}
}

type running struct {
	version   int64
	cancel    context.CancelFunc
	abandoned bool
}

// NewWorker is a worker of `group` on the node at `address` (Dial's options, e.g. WithCAFile, apply).
func NewWorker(address, group, pid string, opts ...DialOption) (*Worker, error) {
	client, err := Dial(address, opts...)
	if err != nil {
		return nil, err
	}
	w := &Worker{Group: group, PID: pid, client: client, funcs: map[string]Func{}, held: map[string]*running{}, connected: make(chan struct{}, 1)}
	client.retry.logger = w.log
	return w, nil
}

// Register serves `fn` under `name`, the name callers pass to rpc.
func (w *Worker) Register(name string, fn Func) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.funcs[name] = fn
}

// Connected receives a value each time the worker (re)joins its group.
func (w *Worker) Connected() <-chan struct{} { return w.connected }

// Client is the worker's connection, for calls of its own.
func (w *Worker) Client() *Client { return w.client }

func (w *Worker) ttl() time.Duration {
	if w.TTL > 0 {
		return w.TTL
	}
	return 30 * time.Second
}

func (w *Worker) grace() time.Duration {
	if w.Grace > 0 {
		return w.Grace
	}
	return 10 * time.Second
}

func (w *Worker) log() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return w.client.log()
}

// Run serves until ctx ends, reconnecting with capped jittered backoff when
// the stream breaks; then it stops taking work, gives running functions the
// grace period, releases the tasks of those still running, and closes the
// connection. It returns nil after a stop.
func (w *Worker) Run(ctx context.Context) error {
	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	// Heartbeats go on through the grace period of a stop: the leases must hold until then.
	beatCtx, stopBeats := context.WithCancel(context.Background())
	beats := make(chan struct{})
	go func() {
		defer close(beats)
		w.heartbeat(beatCtx)
	}()

	backoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := w.poll(ctx, work, backoff)
		if ctx.Err() != nil {
			break
		}
		w.log().Warn("worker stream ended; reconnecting", "group", w.Group, "pid", w.PID, "err", err)
		if backoff.wait(ctx) != nil {
			break
		}
	}

	w.drain(stopWork)
	stopBeats()
	<-beats
	return w.client.Close()
}

// poll holds one Poll stream until it fails or ctx ends.
func (w *Worker) poll(ctx, work context.Context, backoff *backoff) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.client.Tasks.Poll(streamCtx, &meshv1.TaskServicePollRequest{Group: w.Group, Pid: w.PID})
	if err != nil {
		return err
	}
	// The node sends the headers once the worker is registered.
	if _, err := stream.Header(); err != nil {
		return err
	}
	backoff.reset()
	select {
	case w.connected <- struct{}{}:
	default:
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		if execute := msg.GetExecute(); execute != nil {
			ref := execute.GetTask()
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.execute(work, ref.GetId(), ref.GetVersion())
			}()
		}
		// A leaf worker awaits nothing, so it has no use for unblock messages.
	}
}

func (w *Worker) execute(work context.Context, id string, version int64) {
	acquired, err := w.client.Tasks.Acquire(work, &meshv1.TaskServiceAcquireRequest{
		Id: id, Version: version, Pid: w.PID, Ttl: w.ttl().Milliseconds(),
	})
	if err != nil {
		// Someone else has it, or the message was a duplicate: both are normal.
		w.log().Debug("execute not acquired", "task", id, "version", version, "err", err)
		return
	}
	task, promise := acquired.GetTask(), acquired.GetPromise()
	if promise.GetState() != meshv1.PromiseState_PROMISE_STATE_PENDING || promise.GetTags()["resonate:timer"] == "true" {
		return
	}
	held := task.GetVersion()

	call, err := invocationOf(promise)
	if err != nil {
		w.fulfil(id, held, nil, NewError("TypeError", err.Error()))
		return
	}
	w.mu.Lock()
	fn, ok := w.funcs[call.Function]
	w.mu.Unlock()
	if !ok {
		// Another worker of the group may have it (a rolling deploy): the lease
		// lapses and the node dispatches the task again.
		w.log().Error("function not registered here; the task is left for another worker of the group",
			"function", call.Function, "promise", id)
		return
	}

	// The function's calls through Client.Start continue the trace of the promise it runs.
	ctx, cancel := context.WithCancel(WithTraceContext(work, promise.GetParam().GetHeaders()))
	defer cancel()
	r := &running{version: held, cancel: cancel}
	w.mu.Lock()
	w.held[id] = r
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		if w.held[id] == r {
			delete(w.held, id)
		}
		w.mu.Unlock()
	}()

	value, callErr := invoke(ctx, fn, call)
	w.mu.Lock()
	abandoned := r.abandoned
	w.mu.Unlock()
	if abandoned {
		return // released at stop: another worker runs it again
	}
	w.fulfil(id, held, value, callErr)
}

func invoke(ctx context.Context, fn Func, call *Call) (value any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{Name: "Panic", Message: fmt.Sprint(p), Stack: string(debug.Stack())}
		}
	}()
	return fn(ctx, call)
}

// fulfil settles the task's promise.
func (w *Worker) fulfil(id string, version int64, value any, callErr error) {
	state := meshv1.SettleState_SETTLE_STATE_RESOLVED
	if callErr != nil {
		state, value = meshv1.SettleState_SETTLE_STATE_REJECTED, callErr
	}
	data, err := Encode(value)
	if err != nil {
		state = meshv1.SettleState_SETTLE_STATE_REJECTED
		data, _ = Encode(NewError("TypeError", fmt.Sprintf("the result of %q cannot be encoded: %v", id, err)))
	}
	req := &meshv1.TaskServiceFulfillRequest{
		Id: id, Version: version,
		Action: &meshv1.PromiseServiceSettleRequest{Id: id, State: state, Value: &meshv1.Value{Data: data}},
	}
	// The client retries UNAVAILABLE (a lost connection, the node's 503) within its unavailable window.
	ctx, cancel := context.WithTimeout(context.Background(), w.client.retry.window+10*time.Second)
	defer cancel()
	if _, err := w.client.Tasks.Fulfill(ctx, req); err != nil {
		w.log().Warn("fulfil failed; the task returns to the group when its lease ends", "task", id, "err", err)
	}
}

// heartbeat renews the leases of the held tasks every TTL/3 until ctx ends.
func (w *Worker) heartbeat(ctx context.Context) {
	ticker := time.NewTicker(w.ttl() / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		w.mu.Lock()
		refs := make([]*meshv1.TaskRef, 0, len(w.held))
		for id, r := range w.held {
			if !r.abandoned {
				refs = append(refs, &meshv1.TaskRef{Id: id, Version: r.version})
			}
		}
		w.mu.Unlock()
		if len(refs) == 0 {
			continue
		}
		beat, cancel := context.WithTimeout(ctx, w.ttl()/3)
		_, err := w.client.Tasks.Heartbeat(beat, &meshv1.TaskServiceHeartbeatRequest{Pid: w.PID, Tasks: refs})
		cancel()
		if err != nil && ctx.Err() == nil {
			w.log().Warn("heartbeat failed; retrying at the next interval", "err", err)
		}
	}
}

// drain waits up to the grace period for running functions, then releases
// the tasks of those still running and cancels their contexts.
func (w *Worker) drain(stopWork context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(w.grace()):
	}
	w.mu.Lock()
	refs := map[string]int64{}
	for id, r := range w.held {
		r.abandoned = true
		refs[id] = r.version
	}
	w.mu.Unlock()
	for id, version := range refs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := w.client.Tasks.Release(ctx, &meshv1.TaskServiceReleaseRequest{Id: id, Version: version}); err != nil {
			w.log().Warn("release failed; the task returns when its lease ends", "task", id, "err", err)
		}
		cancel()
	}
	stopWork()
}

// invocationOf decodes a targeted promise's param {func, args, version}.
func invocationOf(p *meshv1.Promise) (*Call, error) {
	decoded, err := Decode(p.GetParam().GetData())
	if err != nil {
		return nil, fmt.Errorf("promise %q has a param that cannot be decoded: %w", p.GetId(), err)
	}
	param, _ := decoded.(map[string]any)
	function, _ := param["func"].(string)
	if function == "" {
		return nil, errors.New(`promise "` + p.GetId() + `" has a target but its param is not an invocation {func, args, version}`)
	}
	call := &Call{ID: p.GetId(), Function: function, Args: []any{}, Promise: p}
	switch args := param["args"].(type) {
	case nil:
	case []any:
		call.Args = args
	default:
		return nil, fmt.Errorf("promise %q has an invocation whose args is not an array", p.GetId())
	}
	if v, ok := param["version"].(int64); ok {
		call.Version = int(v)
	}
	return call, nil
}
