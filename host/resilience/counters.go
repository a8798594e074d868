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
}

// Add returns the sum of two snapshots.
func (s Stats) Add(o Stats) Stats {
	return Stats{Retries: s.Retries + o.Retries, RateLimitWait: s.RateLimitWait + o.RateLimitWait,
		Restarts: s.Restarts + o.Restarts, Waiting: s.Waiting + o.Waiting}
}

// Stats returns the counters' current values.
func (c *Counters) Stats() Stats {
	return Stats{
		Retries:       c.retries.Load(),
		RateLimitWait: time.Duration(c.waitNS.Load()),
		Restarts:      c.restarts.Load(),
		Waiting:       c.waiting.Load(),
	}
}

type countersKey struct{}

// WithCounters returns a context whose calls through a Client also count
// into c.
func WithCounters(ctx context.Context, c *Counters) context.Context {
	return context.WithValue(ctx, countersKey{}, c)
}

// countersOf returns the counters attached to ctx, or nil. It is only
// called off the success path (a retry, a wait, a restart).
func countersOf(ctx context.Context) *Counters {
	c, _ := ctx.Value(countersKey{}).(*Counters)
	return c
}
