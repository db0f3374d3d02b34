package resonate_test

// The tests run against a real node: `node node/bin/resonate.js dev --port N`
// from the repository root, started once for the package and stopped after.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type nodeProc struct {
	cmd    *exec.Cmd
	addr   string
	output *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is the node every test of the package talks to.
var node *nodeProc

func TestMain(m *testing.M) {
	if _, err := exec.LookPath("node"); err != nil {
		fmt.Println("SKIP: these tests need a real node and `node` (Node.js 20+) is not on PATH")
		os.Exit(0)
	}
	n, err := startNode(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	node = n
	code := m.Run()
	n.stop()
	os.Exit(code)
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startNode starts `resonate dev` on `port` (a free one when 0) and waits until GET /ready answers 200.
func startNode(port int) (*nodeProc, error) {
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	root := repoRoot()
	cmd := exec.Command("node", filepath.Join(root, "node/bin/resonate.js"), "dev", "--port", fmt.Sprint(port))
	cmd.Dir = root
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nodeProc{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port), output: out}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + n.addr + "/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return n, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.stop()
	return nil, fmt.Errorf("the node did not get ready on %s within 60 s:\n%s", n.addr, out.String())
}

// stop ends the node's process group (SIGTERM, then SIGKILL after 10 s).
func (n *nodeProc) stop() {
	pgid := n.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = n.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// testContext ends with the test, and after `limit` at the latest.
func testContext(t *testing.T, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

var idSeq struct {
	sync.Mutex
	n int
}

// uniqueID is an id no other test uses on the shared node.
func uniqueID(t *testing.T) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano(), idSeq.n)
}
