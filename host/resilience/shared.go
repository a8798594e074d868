package resilience

import (
	"context"
	"time"
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
