package resilience

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// Limiters is the registry of rate limiters shared per target host: every
// connector whose policy says PerHost and whose Env names the same Host
// gets the same *Limiter. One registry serves one host process (the engine
// keeps it). The zero value is ready; it is safe for concurrent use.
type Limiters struct {
	mu     sync.Mutex
	m      map[string]*Limiter
	shared SharedLimiter
}

// NewLimiters returns an empty registry.
func NewLimiters() *Limiters { return &Limiters{} }

// get returns the limiter for key, creating it with rl's rate and burst.
// When the limiter exists, the stricter of its settings and rl's win
// (the lower rate, the smaller burst): connectors sharing a host share its
// quota, and the most careful of their settings is the one that keeps
// them all under it.
func (ls *Limiters) get(key string, rl RateLimit, now time.Time) *Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l, ok := ls.m[key]; ok {
		l.tighten(now, perSecond(rl), burstOf(rl))
		if rl.Shared && ls.shared != nil {
			sb := ls.shared.Bucket(key, float64(perSecond(rl)), burstOf(rl))
			l.mu.Lock()
			l.shared = sb
			l.mu.Unlock()
		}
		return l
	}
	if ls.m == nil {
		ls.m = map[string]*Limiter{}
	}
	l := newLimiter(key, rl, now)
	if rl.Shared && ls.shared != nil {
		l.shared = ls.shared.Bucket(key, float64(perSecond(rl)), burstOf(rl))
	}
	ls.m[key] = l
	return l
}

// All returns the registry's limiters ordered by key.
func (ls *Limiters) All() []*Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]*Limiter, 0, len(ls.m))
	for _, l := range ls.m {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func perSecond(rl RateLimit) rate.Limit { return rate.Limit(rl.PerMinute / 60) }

func burstOf(rl RateLimit) int {
	if rl.Burst < 1 {
		return 1
	}
	return rl.Burst
}

// Limiter is one token bucket (golang.org/x/time/rate) with what the host
// learnt from the server's rate hints on top: a pause (no call starts
// before a time) and a temporarily lowered rate.
//
// # Rate hints
//
// After a page that carries rate hints (sdk.RateHints), the limiter of its
// connector applies them, every pause capped at Retry.MaxDelay (one minute
// when unset), in this order:
//
//  1. RetryAfter > 0: no call starts before RetryAfter has passed.
//  2. Nothing is known of the quota (Remaining and Limit both zero): done.
//  3. Remaining at or above the low-water mark (10% of Limit, and at least
//     one request's Cost, 1 when not given): the quota is plentiful; a
//     rate lowered by an earlier hint comes back to the configured one.
//  4. Remaining below one request's Cost (Remaining 0 counts only when
//     Limit is given, since zero fields mean unknown): the quota is spent;
//     no call starts before Reset has passed or, for a leaky bucket
//     without Reset, before RestoreRate has refilled one request's Cost.
//  5. Below the low-water mark, a leaky bucket (RestoreRate > 0): the rate
//     becomes RestoreRate/Cost requests a second with a burst of 1 until
//     the bucket would be full again (Reset, else
//     (Limit-Remaining)/RestoreRate), then the configured rate and burst
//     come back.
//  6. Below the low-water mark, a window (Reset > 0): the Remaining
//     requests are spread over the time to Reset: the rate becomes
//     Remaining/Cost/Reset requests a second with a burst of 1 until Reset.
//
// A lowered rate is never above the configured one; the burst drops to 1
// so that tokens saved while the quota was plentiful are not spent at once
// now that it is scarce. Hints are ignored when the connector's policy has
// no rate limit.
type Limiter struct {
	key   string
	lim   *rate.Limiter
	epoch time.Time // offsets below are nanoseconds since epoch (monotonic)

	waiting    atomic.Int64
	pauseUntil atomic.Int64 // offset; no call starts before it
	restoreAt  atomic.Int64 // offset at which a hint-lowered rate ends; 0: not lowered

	mu        sync.Mutex // serialises changes of rate and burst
	base      rate.Limit
	baseBurst int
	// shared, when set, is the bucket shared with other processes
	// (SharedLimiter): a call takes its token there instead of from lim,
	// unless a rate hint lowered lim's rate (then from both); pauses are
	// pushed to it.
	shared SharedBucket
}

func newLimiter(key string, rl RateLimit, now time.Time) *Limiter {
	r, b := perSecond(rl), burstOf(rl)
	// epoch is a nanosecond before now so that every offset is positive.
	return &Limiter{key: key, lim: rate.NewLimiter(r, b), epoch: now.Add(-1), base: r, baseBurst: b}
}

// Key names the limiter: "host:<host>" or "connector:<type>/<name>".
func (l *Limiter) Key() string { return l.key }

// Tokens is how many calls may start now without waiting.
func (l *Limiter) Tokens() float64 { return l.lim.TokensAt(time.Now()) }

// Waiting is how many calls wait on the limiter now.
func (l *Limiter) Waiting() int64 { return l.waiting.Load() }

// Limit returns the current rate (calls per second) and burst, which rate
// hints may have lowered below the configured ones.
func (l *Limiter) Limit() (perSecond float64, burst int) {
	return float64(l.lim.Limit()), l.lim.Burst()
}

func (l *Limiter) off(t time.Time) int64 {
	return max(int64(t.Sub(l.epoch)), 1) // 0 means "none" in pauseUntil and restoreAt
}

func (l *Limiter) tighten(now time.Time, r rate.Limit, b int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r < l.base {
		l.base = r
		if l.restoreAt.Load() == 0 || l.lim.Limit() > r {
			l.lim.SetLimitAt(now, r)
		}
	}
	if b < l.baseBurst {
		l.baseBurst = b
		if l.lim.Burst() > b {
			l.lim.SetBurstAt(now, b)
		}
	}
}

// limitRefusal says why acquire refused a call: the wait needed, and
// whether it was refused for the fail strategy or because the wait would
// end after the call's deadline.
type limitRefusal struct {
	wait     time.Duration
	deadline bool
}

// acquire takes a token for a call starting at now. With fail it refuses
// at once when none is free; otherwise it waits (honouring ctx) unless the
// wait would end after ctx's deadline, which it refuses at once too. It
// returns the time waited and the time the call may start (now when it did
// not wait, so the clock is read once on the fast path).
//
// A wait counts in l's waiting calls, in own's and in those of the
// counters attached to ctx.
func (l *Limiter) acquire(ctx context.Context, now time.Time, fail bool, own *Counters) (time.Duration, time.Time, *limitRefusal, error) {
	if ra := l.restoreAt.Load(); ra != 0 && l.off(now) >= ra {
		l.restore(now)
	}
	var waited time.Duration
	if pu := l.pauseUntil.Load(); pu > l.off(now) {
		d := time.Duration(pu - l.off(now))
		if ref := refuse(ctx, now, d, fail); ref != nil {
			return 0, now, ref, nil
		}
		if err := l.sleep(ctx, d, own); err != nil {
			return d, now, nil, err
		}
		waited = d
		now = time.Now()
	}
	if sb := l.sharedBucket(); sb != nil {
		d, err := l.takeShared(ctx, sb, now)
		if err != nil {
			return waited, now, nil, err
		}
		if d > 0 {
			if ref := refuse(ctx, now, d, fail); ref != nil {
				return waited, now, ref, nil
			}
			if err := l.sleep(ctx, d, own); err != nil {
				return waited + d, now, nil, err
			}
			waited += d
			now = time.Now()
		}
		if l.restoreAt.Load() == 0 {
			// The shared schedule is the limit: the local bucket (same
			// rate) would only add its own lag to the shared slots.
			return waited, now, nil, nil
		}
	}
	if l.lim.AllowN(now, 1) {
		return waited, now, nil, nil
	}
	r := l.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if ref := refuse(ctx, now, d, fail); ref != nil {
		r.CancelAt(now)
		return waited, now, ref, nil
	}
	if err := l.sleep(ctx, d, own); err != nil {
		r.Cancel()
		return waited + d, now, nil, err
	}
	return waited + d, time.Now(), nil, nil
}

func refuse(ctx context.Context, now time.Time, d time.Duration, fail bool) *limitRefusal {
	if fail {
		return &limitRefusal{wait: d}
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		return &limitRefusal{wait: d, deadline: true}
	}
	return nil
}

func (l *Limiter) sleep(ctx context.Context, d time.Duration, own *Counters) error {
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	return waitCounted(ctx, d, own)
}

// waitCounted sleeps like sleep, counting the wait as a waiting call in own
// and in the counters attached to ctx while it lasts.
func waitCounted(ctx context.Context, d time.Duration, own *Counters) error {
	fc := countersOf(ctx)
	own.waiting.Add(1)
	if fc != nil {
		fc.waiting.Add(1)
	}
	err := sleep(ctx, d)
	own.waiting.Add(-1)
	if fc != nil {
		fc.waiting.Add(-1)
	}
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// expectedWait estimates how long a call that first waits d from now
// waits in all before it starts: d, or the limiter's pause when that ends
// later, then the wait for a token (other calls may take tokens first, so
// it is a floor, not a promise).
func (l *Limiter) expectedWait(now time.Time, d time.Duration) time.Duration {
	if pu := l.pauseUntil.Load(); pu > l.off(now) {
		d = max(d, time.Duration(pu-l.off(now)))
	}
	if lim := l.lim.Limit(); lim > 0 && lim != rate.Inf {
		if t := l.lim.TokensAt(now.Add(d)); t < 1 {
			d += time.Duration((1 - t) / float64(lim) * float64(time.Second))
		}
	}
	return d
}

// pause makes no call start before now+d (a later pause wins), in every
// process when the limiter is shared.
func (l *Limiter) pause(now time.Time, d time.Duration) {
	if sb := l.sharedBucket(); sb != nil && d > 0 {
		sb.Pause(now.Add(d))
	}
	until := l.off(now.Add(d))
	for {
		cur := l.pauseUntil.Load()
		if cur >= until || l.pauseUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// slow lowers the rate to r (never above the configured rate) and the
// burst to 1 until now+d, after which the configured rate and burst come
// back. The burst drops to 1 so that tokens saved up while the quota was
// plentiful are not spent at once now that it is scarce.
func (l *Limiter) slow(now time.Time, r rate.Limit, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r > l.base {
		r = l.base
	}
	l.lim.SetLimitAt(now, r)
	l.lim.SetBurstAt(now, 1)
	l.restoreAt.Store(l.off(now.Add(d)))
}

// restore brings back the configured rate and burst.
func (l *Limiter) restore(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restoreAt.Load() == 0 {
		return
	}
	l.lim.SetLimitAt(now, l.base)
	l.lim.SetBurstAt(now, l.baseBurst)
	l.restoreAt.Store(0)
}

// lowWater is the share of a window's or bucket's limit below which the
// host starts to slow down.
const lowWater = 0.1

// observe applies a response's rate hints (see Limiter) so the host slows
// down before the server answers 429. maxPause caps every pause.
func (l *Limiter) observe(now time.Time, h *sdk.RateHints, maxPause time.Duration) {
	capd := func(d time.Duration) time.Duration { return min(d, maxPause) }
	if h.RetryAfter > 0 {
		l.pause(now, capd(h.RetryAfter))
	}
	if h.Remaining <= 0 && h.Limit <= 0 {
		return
	}
	cost := h.Cost
	if cost <= 0 {
		cost = 1
	}
	low := cost
	if h.Limit > 0 {
		low = max(cost, lowWater*h.Limit)
	}
	if h.Remaining >= low {
		if l.restoreAt.Load() != 0 {
			l.restore(now)
		}
		return
	}
	if h.Remaining < cost {
		switch {
		case h.Reset > 0:
			l.pause(now, capd(h.Reset))
		case h.RestoreRate > 0:
			l.pause(now, capd(secs((cost-h.Remaining)/h.RestoreRate)))
		}
	}
	switch {
	case h.RestoreRate > 0:
		d := h.Reset
		if d <= 0 && h.Limit > h.Remaining {
			d = secs((h.Limit - h.Remaining) / h.RestoreRate)
		}
		if d > 0 {
			l.slow(now, rate.Limit(h.RestoreRate/cost), capd(d))
		}
	case h.Reset > 0 && h.Remaining >= cost:
		l.slow(now, rate.Limit(h.Remaining/cost/h.Reset.Seconds()), capd(h.Reset))
	}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
