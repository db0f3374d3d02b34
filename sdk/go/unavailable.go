package resonate

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultUnavailableRetry is how long a request is retried while the node is
// unreachable or answers UNAVAILABLE, as the TypeScript SDK's unavailableRetryMs.
const DefaultUnavailableRetry = 30 * time.Second

// unavailableRetry retries every unary call that fails UNAVAILABLE: the
// connection is lost or refused, or the node answered 503 "retry later" (not
// ready yet, its store briefly out of reach, e.g. while a JetStream stream
// elects a new leader). It waits with jittered backoff
// for up to `window` in all, then returns the last error.
//
// Retrying is safe for every unary request this SDK sends (see the protocol
// reference): PromiseService.Get reads; PromiseService.Create is idempotent by
// id (an existing id answers its record); TaskService.Acquire, Fulfill and
// Release carry the task version, so a repeat after a lost answer, or after
// a 503 saying a commit's outcome is unknown, is refused (409) rather than
// applied twice; Heartbeat only extends leases. The streams
// (Poll, Watch) are reopened by Worker.Run and Client.Await themselves.
type unavailableRetry struct {
	window time.Duration
	logger func() *slog.Logger

	mu     sync.Mutex
	outage bool
}

func (u *unavailableRetry) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	started := time.Now()
	backoff := newBackoff(100*time.Millisecond, 2*time.Second)
	for {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if !retryable(err) {
			if err == nil {
				u.over()
			}
			return err
		}
		delay := backoff.next()
		if ctx.Err() != nil || time.Since(started)+delay > u.window {
			return err
		}
		u.begins(method, err)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// begins logs one warning per outage, however many calls retry through it.
func (u *unavailableRetry) begins(method string, err error) {
	u.mu.Lock()
	first := !u.outage
	u.outage = true
	u.mu.Unlock()
	if first {
		u.logger().Warn("node unavailable; retrying requests", "method", method, "err", err, "for", u.window)
	} else {
		u.logger().Debug("node unavailable; retrying", "method", method, "err", err)
	}
}

func (u *unavailableRetry) over() {
	u.mu.Lock()
	was := u.outage
	u.outage = false
	u.mu.Unlock()
	if was {
		u.logger().Warn("node answers again")
	}
}

// retryable: UNAVAILABLE, except a failed TLS handshake (an untrusted
// certificate, a plain-text node): no wait fixes configuration.
func retryable(err error) bool {
	return status.Code(err) == codes.Unavailable && !strings.Contains(err.Error(), "authentication handshake failed")
}
