package resonate

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
)

const codesUnavailable = codes.Unavailable

// backoff is capped exponential backoff with full jitter: each wait is
// random in [0, min(cap, base*2^n)), so many workers that lost the same node
// do not reconnect in lockstep.
type backoff struct {
	base, max time.Duration
	attempt   int
}

func newBackoff(base, max time.Duration) *backoff { return &backoff{base: base, max: max} }

func (b *backoff) next() time.Duration {
	ceiling := b.max
	if b.attempt < 30 {
		if d := b.base << b.attempt; d < ceiling {
			ceiling = d
		}
	}
	b.attempt++
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

func (b *backoff) reset() { b.attempt = 0 }

// wait sleeps for the next delay, or until ctx ends.
func (b *backoff) wait(ctx context.Context) error {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
