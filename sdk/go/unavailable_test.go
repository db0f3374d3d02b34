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
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + n.addr + "/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusServiceUnavailable {
				return n
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the node did not serve (not ready) on %s within 60 s:\n%s", n.addr, n.output.String())
	return nil
}

// startNats starts `nats-server -js` on 127.0.0.1:port, its store in a temporary directory.
func startNats(t *testing.T, port int) *nodeProc {
	t.Helper()
	server := os.Getenv("NATS_SERVER")
	if server == "" {
		server = "nats-server"
	}
	cmd := exec.Command(server, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "--store_dir", t.TempDir())
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

	startNats(t, natsPort)
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
