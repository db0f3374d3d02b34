package resonate_test

// A node that answers 503 UNAVAILABLE ("retry later") for a while, as a
// JetStream node does while its store is out of reach (a stream electing a new
// leader; here: NATS not started yet, so the node serves, is not ready, and
// answers every request 503). The client retries such an answer within its
// unavailable window (WithUnavailableRetry), as it retries a lost connection.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	resonate "github.com/resonate-mesh/mesh/sdk/go"
	meshv1 "github.com/resonate-mesh/mesh/sdk/go/gen/resonate/mesh/v1"
)

// startUnreadyNode starts `resonate serve --store jetstream` whose NATS (on
// natsPort) is not up yet, and waits until it serves and answers /ready 503.
func startUnreadyNode(t *testing.T, natsPort int) *nodeProc {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot()
	cmd := exec.Command("node", filepath.Join(root, "node/bin/resonate.js"), "serve", "--host", "127.0.0.1",
		"--port", fmt.Sprint(port), "--store", "jetstream", "--nats", fmt.Sprintf("nats://127.0.0.1:%d", natsPort),
		"--replicas", "1")
	n := startProcess(t, cmd, fmt.Sprintf("127.0.0.1:%d", port))
	waitForReady(t, n, http.StatusServiceUnavailable)
	return n
}

// startNats starts `nats-server -js` on 127.0.0.1:port, its store in `store`
// (a restart after a crash) or a temporary directory when "".
func startNats(t *testing.T, port int, store string) *nodeProc {
	t.Helper()
	if store == "" {
		store = t.TempDir()
	}
	server := os.Getenv("NATS_SERVER")
	if server == "" {
		server = "nats-server"
	}
	cmd := exec.Command(server, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "--store_dir", store)
	n := startProcess(t, cmd, fmt.Sprintf("127.0.0.1:%d", port))
	ready := regexp.MustCompile(`Server is ready`)
	deadline := time.Now().Add(30 * time.Second)
	for !ready.MatchString(n.output.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not get ready within 30 s:\n%s", n.output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// startJetStreamNode starts `resonate serve --store jetstream` with its NATS
// on natsPort, and waits until GET /ready answers 200.
func startJetStreamNode(t *testing.T, natsPort int) *nodeProc {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(repoRoot(), "node/bin/resonate.js"), "serve", "--host", "127.0.0.1",
		"--port", fmt.Sprint(port), "--store", "jetstream", "--nats", fmt.Sprintf("nats://127.0.0.1:%d", natsPort),
		"--replicas", "1")
	n := startProcess(t, cmd, fmt.Sprintf("127.0.0.1:%d", port))
	waitForReady(t, n, http.StatusOK)
	return n
}

// waitForReady waits until the node's GET /ready answers `want`.
func waitForReady(t *testing.T, n *nodeProc, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + n.addr + "/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the node on %s did not answer /ready %d within 60 s:\n%s", n.addr, want, n.output.String())
}

// crash SIGKILLs the process group.
func (n *nodeProc) crash() {
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	_ = n.cmd.Wait()
}

// startProcess starts cmd in its own process group, stopped when the test ends.
func startProcess(t *testing.T, cmd *exec.Cmd, addr string) *nodeProc {
	t.Helper()
	cmd.Dir = repoRoot()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &nodeProc{cmd: cmd, addr: addr, output: out}
	t.Cleanup(n.stop)
	return n
}

func TestACallTheNodeAnswersUnavailableIsRetriedUntilTheNodeCanAnswerIt(t *testing.T) {
	natsPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	n := startUnreadyNode(t, natsPort)
	logged := &syncBuffer{}
	c, err := resonate.Dial(n.addr, resonate.WithUnavailableRetry(2*time.Minute),
		resonate.WithLogger(slog.New(slog.NewTextHandler(logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type result struct {
		promise *meshv1.Promise
		err     error
	}
	done := make(chan result, 1)
	go func() {
		p, err := c.Start(testContext(t, 3*time.Minute), "go-unavailable-1", "nowhere", nil, resonate.StartOptions{Group: "nobody"})
		done <- result{p, err}
	}()
	// The node answers 503 meanwhile: the call is still being retried, neither returned nor failed.
	select {
	case r := <-done:
		t.Fatalf("the call ended while the node answered 503: %v", r.err)
	case <-time.After(1500 * time.Millisecond):
	}

	startNats(t, natsPort, "")
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("the call failed: %v\n%s", r.err, n.output.String())
		}
		if r.promise.GetId() != "go-unavailable-1" || r.promise.GetState() != meshv1.PromiseState_PROMISE_STATE_PENDING {
			t.Fatalf("the call answered %v", r.promise)
		}
		if warnings := strings.Count(logged.String(), "node unavailable"); warnings != 1 {
			t.Fatalf("want one warning for the outage, got %d:\n%s", warnings, logged.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the call did not end within 2 minutes of NATS being up:\n%s", n.output.String())
	}
}

func TestANodeThatStaysUnavailableFailsTheCallOnceTheWindowEnds(t *testing.T) {
	natsPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	n := startUnreadyNode(t, natsPort)
	c, err := resonate.Dial(n.addr, resonate.WithUnavailableRetry(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Promises.Get(context.Background(), &meshv1.PromiseServiceGetRequest{Id: "go-unavailable-2"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("want UNAVAILABLE once the window ends, got %v", err)
	}
}

func TestALeafThatEndsWhileNatsIsDownIsFulfilledOnceNatsIsBackAndRunsOnce(t *testing.T) {
	natsPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	nats := startNats(t, natsPort, store)
	n := startJetStreamNode(t, natsPort)
	var runs atomic.Int32
	started, finish := make(chan struct{}, 1), make(chan struct{})
	_, group := startWorker(t, n.addr, map[string]resonate.Func{
		"leaf": func(ctx context.Context, call *resonate.Call) (any, error) {
			runs.Add(1)
			started <- struct{}{}
			select {
			case <-finish:
			case <-ctx.Done():
			}
			return "hello " + call.Args[0].(string), nil
		},
	}, func(w *resonate.Worker) { w.TTL = 2 * time.Minute })
	c, err := resonate.Dial(n.addr, resonate.WithUnavailableRetry(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testContext(t, 3*time.Minute)
	if _, err := c.Start(ctx, "go-failover-1", "leaf", []any{"Ada"}, resonate.StartOptions{Group: group}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the leaf did not start within 30 s")
	}

	nats.crash()
	waitForReady(t, n, http.StatusServiceUnavailable)
	close(finish) // its fulfil now meets a node that answers 503 (or does not answer in time)
	time.Sleep(1500 * time.Millisecond)
	startNats(t, natsPort, store)

	value, err := c.Await(ctx, "go-failover-1")
	if err != nil || value != "hello Ada" {
		t.Fatalf("want hello Ada, got %v, %v\n%s", value, err, n.output.String())
	}
	if got := runs.Load(); got != 1 {
		t.Fatalf("the leaf ran %d times: its fulfil was taken for a failure", got)
	}
}
