package resilience

import (
	"context"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// SharedLimiter enforces rate limits across processes (host/sharedlimit
// implements it over PostgreSQL). A Limiters registry with one set gives
// every limiter whose policy says RateLimit.Shared a SharedBucket of the
// same key; without one, shared limits stay local.
type SharedLimiter interface {
	// Bucket returns the shared bucket of key ("host:<host>" or
	// "connector:<type>/<name>") with a rate of perSecond calls a second
	// and a burst of burst. Asked again for a key, it keeps the stricter
	// rate and burst.
	Bucket(key string, perSecond float64, burst int) SharedBucket
}

// SharedBucket is one key's token bucket shared by every process.
type SharedBucket interface {
	// Take takes one token for a call about to start at now and returns
	// when the call may start (now or later). It may wait for the shared
	// store (never past ctx), returning ctx's error when ctx ends first.
	Take(ctx context.Context, now time.Time) (time.Time, error)
	// Pause makes no call of any process start before until. It returns
	// once the pause is shared or could not be (best effort, bounded).
	Pause(until time.Time)
}

// SharedBreaker is implemented by a SharedBucket that also shares
// circuit-breaker state (host/sharedlimit's does): a breaker that opens in
// one process holds back the others until its recovery timeout.
type SharedBreaker interface {
	// OpenBreaker records that a process's breaker opened: every process
	// fails fast until until. Best effort and bounded, like Pause.
	OpenBreaker(until time.Time)
	// BreakerOpenUntil returns until when some process holds the breaker
	// open, as last learnt (no round trip); zero when none does.
	BreakerOpenUntil() time.Time
}

// sharedBreaker returns the limiter's bucket as a SharedBreaker when the
// policy shares the breaker and the bucket can.
func (c *Client) sharedBreaker() SharedBreaker {
	if !c.p.Breaker.Shared || c.breaker == nil || c.limiter == nil {
		return nil
	}
	sb, _ := c.limiter.sharedBucket().(SharedBreaker)
	return sb
}

// sharedOpen returns the fail-fast error of a call refused because
// another process holds the shared breaker open, or nil.
func (c *Client) sharedOpen(now time.Time) error {
	sb := c.sharedBreaker()
	if sb == nil {
		return nil
	}
	until := sb.BreakerOpenUntil()
	if !until.After(now) || c.breaker.State() == gobreaker.StateOpen {
		return nil
	}
	return errclass.Wrap(errclass.Transient, &openError{name: c.env.Name, sharedFor: until.Sub(now)})
}

// SetShared makes the limiters created from now on whose policy says
// RateLimit.Shared take their tokens from s as well (nil: none). The
// engine calls it before it wraps any connector.
func (ls *Limiters) SetShared(s SharedLimiter) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.shared = s
}

// attach gives l a shared bucket when rl says Shared and the registry has
// a SharedLimiter.
func (ls *Limiters) attach(l *Limiter, rl RateLimit) {
	if ls == nil || !rl.Shared {
		return
	}
	ls.mu.Lock()
	s := ls.shared
	ls.mu.Unlock()
	if s == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shared = s.Bucket(l.key, float64(perSecond(rl)), burstOf(rl))
}

// Shared reports whether the limiter's tokens come from a shared bucket.
func (l *Limiter) Shared() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shared != nil
}

func (l *Limiter) sharedBucket() SharedBucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shared
}

// takeShared takes the shared token of a call about to start at now
// (after the local pause): it returns the wait until the shared slot.
func (l *Limiter) takeShared(ctx context.Context, sb SharedBucket, now time.Time) (time.Duration, error) {
	t, err := sb.Take(ctx, now)
	if err != nil {
		return 0, err
	}
	return t.Sub(now), nil
}
