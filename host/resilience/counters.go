package resilience

import (
	"context"
	"sync/atomic"
	"time"
)

// Counters accumulate what the policies did: retries, time waited on rate
// limits and plugin recoveries. Every Client keeps one for its connector;
// a caller can attach another to a context with WithCounters to count the
// calls made under that context too (the engine keeps one per flow). The
// zero value is ready; all methods are safe for concurrent use.
type Counters struct {
	retries  atomic.Int64
	waitNS   atomic.Int64
	restarts atomic.Int64
	waiting  atomic.Int64
	backoff  atomic.Int64
	recover  atomic.Int64
}

// Stats is a snapshot of Counters.
type Stats struct {
	// Retries is how many retries were made (first attempts not counted).
	Retries int64
	// RateLimitWait is the time spent waiting on rate limits: in the
	// limiter, and before retrying a RATE_LIMITED answer. Concurrent waits
	// add up.
	RateLimitWait time.Duration
	// Restarts is how many plugin recoveries were asked for.
	Restarts int64
	// Waiting is how many calls wait on a rate limit right now.
	Waiting int64
	// Backoff is how many calls wait out a retry's backoff right now (not
	// a rate limit's wait, which Waiting counts).
	Backoff int64
	// Recovering is how many calls wait for their plugin's restart right
	// now.
	Recovering int64
}

// Add returns the sum of two snapshots.
func (s Stats) Add(o Stats) Stats {
	return Stats{Retries: s.Retries + o.Retries, RateLimitWait: s.RateLimitWait + o.RateLimitWait,
		Restarts: s.Restarts + o.Restarts, Waiting: s.Waiting + o.Waiting,
		Backoff: s.Backoff + o.Backoff, Recovering: s.Recovering + o.Recovering}
}

// Stats returns the counters' current values.
func (c *Counters) Stats() Stats {
	return Stats{
		Retries:       c.retries.Load(),
		RateLimitWait: time.Duration(c.waitNS.Load()),
		Restarts:      c.restarts.Load(),
		Waiting:       c.waiting.Load(),
		Backoff:       c.backoff.Load(),
		Recovering:    c.recover.Load(),
	}
}

type countersKey struct{}

// WithCounters returns a context whose calls through a Client also count
// into c.
func WithCounters(ctx context.Context, c *Counters) context.Context {
	return context.WithValue(ctx, countersKey{}, c)
}

// gauge adds one to the gauge g picks of own and of the counters attached to
// ctx, and returns the function taking it back.
func gauge(ctx context.Context, own *Counters, g func(*Counters) *atomic.Int64) (done func()) {
	fc := countersOf(ctx)
	g(own).Add(1)
	if fc != nil {
		g(fc).Add(1)
	}
	return func() {
		g(own).Add(-1)
		if fc != nil {
			g(fc).Add(-1)
		}
	}
}

// countersOf returns the counters attached to ctx, or nil. It is only
// called off the success path (a retry, a wait, a restart).
func countersOf(ctx context.Context) *Counters {
	c, _ := ctx.Value(countersKey{}).(*Counters)
	return c
}
