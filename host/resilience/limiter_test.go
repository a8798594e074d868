package resilience_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// limited is a policy with a limiter and one attempt per call.
func limited(perMinute float64, burst int, strategy resilience.Strategy, perHost bool) resilience.Policy {
	return resilience.Policy{Enabled: true, Retry: resilience.Retry{MaxAttempts: 1, MaxDelay: time.Minute},
		RateLimit: resilience.RateLimit{Enabled: true, PerMinute: perMinute, Burst: burst, Strategy: strategy, PerHost: perHost}}
}

// offsets returns each time's distance from start.
func offsets(start time.Time, ts []time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(start)
	}
	return out
}

func TestLimiterSpacingAtRateAndBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := metrics.New()
		f := &fakeConn{}
		// 60 a minute = one a second, burst 2.
		c := resilience.New(f, limited(60, 2, resilience.StrategyWait, false), resilience.Env{Name: "api", Type: "rest", Metrics: m})
		start := time.Now()
		var fc resilience.Counters
		ctx := resilience.WithCounters(t.Context(), &fc)
		for range 5 {
			if err := c.Check(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want := []time.Duration{0, 0, time.Second, 2 * time.Second, 3 * time.Second}
		if got := offsets(start, f.times()); !slices.Equal(got, want) {
			t.Fatalf("calls at %v, want %v", got, want)
		}
		if s := c.Stats(); s.RateLimitWait != 3*time.Second || fc.Stats().RateLimitWait != 3*time.Second {
			t.Fatalf("stats %+v, flow %+v", s, fc.Stats())
		}
		if got := value(m.RateLimitWait.WithLabelValues("rest", "api", "test_connection").(prometheus.Metric)); got != 3 {
			t.Fatalf("wait histogram sum %v, want 3", got)
		}
	})
}

func TestLimiterConcurrentCallsShareTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{}
		c := resilience.New(f, limited(120, 1, resilience.StrategyWait, false), resilience.Env{})
		start := time.Now()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { c.Check(t.Context()) })
		}
		synctest.Wait()
		if c.Limiter().Waiting() != 3 || c.Stats().Waiting != 3 {
			t.Fatalf("waiting %d / %d, want 3", c.Limiter().Waiting(), c.Stats().Waiting)
		}
		wg.Wait()
		ts := f.times()
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		want := []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
		if got := offsets(start, ts); !slices.Equal(got, want) {
			t.Fatalf("calls at %v, want %v", got, want)
		}
	})
}

func TestLimiterFailStrategy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{}
		p := limited(60, 1, resilience.StrategyFail, false)
		p.Retry = resilience.Retry{MaxAttempts: 5, InitialDelay: time.Second, MaxDelay: time.Second, Multiplier: 1}
		c := resilience.New(f, p, resilience.Env{Name: "api"})
		if err := c.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := c.Check(t.Context())
		if !errclass.Is(err, errclass.RateLimited) || !errors.Is(err, resilience.ErrRateLimit) {
			t.Fatalf("err = %v", err)
		}
		if errclass.RetryAfter(err) != time.Second || f.calls() != 1 || time.Since(start) != 0 {
			t.Fatalf("retry after %v, calls %d, took %v: want 1s, 1, at once and not retried", errclass.RetryAfter(err), f.calls(), time.Since(start))
		}
		if want := "rate limit for 'api' reached: the next call may start in 1.0s (backpressure_strategy: fail)"; err.Error() != want {
			t.Fatalf("message %q", err.Error())
		}
		// A token is back a second later.
		time.Sleep(time.Second)
		if err := c.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLimiterWaitPastTheDeadlineFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{}
		c := resilience.New(f, limited(6, 1, resilience.StrategyWait, false), resilience.Env{Name: "api"})
		c.Check(t.Context())
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := c.Check(ctx) // the next token is 10 s away
		if !errors.Is(err, resilience.ErrRateLimit) || time.Since(start) != 0 || f.calls() != 1 {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
		// The refused call did not keep its reservation.
		time.Sleep(10 * time.Second)
		start = time.Now()
		c.Check(t.Context())
		if time.Since(start) != 0 {
			t.Fatalf("waited %v", time.Since(start))
		}
	})
}

func TestLimiterWaitHonoursCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{}
		c := resilience.New(f, limited(1, 1, resilience.StrategyWait, false), resilience.Env{})
		c.Check(t.Context())
		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(time.Second); cancel() }()
		if err := c.Check(ctx); !errors.Is(err, context.Canceled) || f.calls() != 1 {
			t.Fatalf("err %v, calls %d", err, f.calls())
		}
	})
}

func TestLimiterPerHostSharing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ls := resilience.NewLimiters()
		fa, fb, fc := &fakeConn{}, &fakeConn{}, &fakeConn{}
		p := limited(60, 1, resilience.StrategyWait, true)
		a := resilience.New(fa, p, resilience.Env{Name: "a", Host: "api.example.com", Limiters: ls})
		b := resilience.New(fb, p, resilience.Env{Name: "b", Host: "api.example.com", Limiters: ls})
		other := resilience.New(fc, p, resilience.Env{Name: "c", Host: "other.example.com", Limiters: ls})
		if a.Limiter() != b.Limiter() || a.Limiter() == other.Limiter() || a.Limiter().Key() != "host:api.example.com" {
			t.Fatalf("limiters %p %p %p", a.Limiter(), b.Limiter(), other.Limiter())
		}
		start := time.Now()
		for range 2 {
			a.Check(t.Context())
			b.Check(t.Context())
			other.Check(t.Context())
		}
		// a and b take turns on one token a second; c has its own.
		if got, want := offsets(start, append(fa.times(), fb.times()...)), []time.Duration{0, 2 * time.Second, time.Second, 3 * time.Second}; !slices.Equal(got, want) {
			t.Fatalf("a, b at %v, want %v", got, want)
		}
		if got, want := offsets(start, fc.times()), []time.Duration{time.Second, 3 * time.Second}; !slices.Equal(got, want) {
			t.Fatalf("c at %v, want %v (it waited only for its own token)", got, want)
		}
	})
	t.Run("not per host: each has its own", func(t *testing.T) {
		ls := resilience.NewLimiters()
		p := limited(60, 1, resilience.StrategyWait, false)
		a := resilience.New(&fakeConn{}, p, resilience.Env{Name: "a", Host: "h", Limiters: ls})
		b := resilience.New(&fakeConn{}, p, resilience.Env{Name: "b", Host: "h", Limiters: ls})
		if a.Limiter() == b.Limiter() {
			t.Fatal("shared")
		}
	})
	t.Run("the stricter settings win", func(t *testing.T) {
		ls := resilience.NewLimiters()
		a := resilience.New(&fakeConn{}, limited(120, 10, resilience.StrategyWait, true), resilience.Env{Name: "a", Host: "h", Limiters: ls})
		resilience.New(&fakeConn{}, limited(60, 20, resilience.StrategyWait, true), resilience.Env{Name: "b", Host: "h", Limiters: ls})
		if r, b := a.Limiter().Limit(); r != 1 || b != 10 {
			t.Fatalf("rate %v burst %d, want 1/s and 10", r, b)
		}
	})
}

func TestRateHintsSlowTheLimiter(t *testing.T) {
	tests := []struct {
		name  string
		hints *sdk.RateHints
		// want: offsets of the next three calls after the hinted one
		want     []time.Duration
		wantRate float64
	}{
		{
			name:     "plenty left: no change",
			hints:    &sdk.RateHints{Remaining: 80, Limit: 100, Reset: 10 * time.Second},
			want:     []time.Duration{0, 0, 0},
			wantRate: 10,
		},
		{
			name:  "below the low-water mark: the rest spread to the reset",
			hints: &sdk.RateHints{Remaining: 4, Limit: 100, Reset: 20 * time.Second},
			// 4 requests over 20 s: one per 5 s, burst 1.
			want:     []time.Duration{0, 5 * time.Second, 10 * time.Second},
			wantRate: 0.2,
		},
		{
			name:     "spent: pause until the reset",
			hints:    &sdk.RateHints{Remaining: 0, Limit: 100, Reset: 7 * time.Second},
			want:     []time.Duration{7 * time.Second, 7 * time.Second, 7 * time.Second},
			wantRate: 10,
		},
		{
			name:     "retry after: pause",
			hints:    &sdk.RateHints{RetryAfter: 3 * time.Second},
			want:     []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second},
			wantRate: 10,
		},
		{
			name:     "a reset of an hour is capped at max delay",
			hints:    &sdk.RateHints{Remaining: 0, Limit: 100, Reset: time.Hour},
			want:     []time.Duration{time.Minute, time.Minute, time.Minute},
			wantRate: 10,
		},
		{
			name: "leaky bucket nearly full: the restore rate",
			// Shopify: 40 bucket, leaks 2 a second, 3 left.
			hints:    &sdk.RateHints{Remaining: 3, Limit: 40, RestoreRate: 2},
			want:     []time.Duration{0, 500 * time.Millisecond, time.Second},
			wantRate: 2,
		},
		{
			name: "leaky bucket with costly requests",
			// 10 points a request, 50 restored a second, 20 of 1000 left.
			hints:    &sdk.RateHints{Remaining: 20, Limit: 1000, RestoreRate: 50, Cost: 10},
			want:     []time.Duration{0, 200 * time.Millisecond, 400 * time.Millisecond},
			wantRate: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeConn{hints: func(n int) *sdk.RateHints {
					if n == 1 {
						return tt.hints
					}
					return nil
				}}
				// 600 a minute, burst 10: without hints the calls go at once.
				c := resilience.New(f, limited(600, 10, resilience.StrategyWait, false), resilience.Env{})
				if _, err := c.ReadPage(t.Context(), sdk.ReadRequest{}); err != nil {
					t.Fatal(err)
				}
				if r, _ := c.Limiter().Limit(); r != tt.wantRate {
					t.Fatalf("rate %v/s, want %v", r, tt.wantRate)
				}
				start := time.Now()
				for range 3 {
					c.ReadPage(t.Context(), sdk.ReadRequest{})
				}
				if got := offsets(start, f.times()[1:]); !slices.Equal(got, tt.want) {
					t.Fatalf("calls at %v, want %v", got, tt.want)
				}
			})
		})
	}
	t.Run("the configured rate comes back after the reset", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{hints: func(n int) *sdk.RateHints {
				if n == 1 {
					return &sdk.RateHints{Remaining: 2, Limit: 100, Reset: 10 * time.Second}
				}
				return nil
			}}
			c := resilience.New(f, limited(600, 10, resilience.StrategyWait, false), resilience.Env{})
			c.ReadPage(t.Context(), sdk.ReadRequest{})
			time.Sleep(11 * time.Second)
			c.ReadPage(t.Context(), sdk.ReadRequest{})
			if r, b := c.Limiter().Limit(); r != 10 || b != 10 {
				t.Fatalf("rate %v burst %d after the reset", r, b)
			}
		})
	})
	t.Run("plenty again restores at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{hints: func(n int) *sdk.RateHints {
				if n == 1 {
					return &sdk.RateHints{Remaining: 3, Limit: 40, RestoreRate: 2}
				}
				return &sdk.RateHints{Remaining: 30, Limit: 40, RestoreRate: 2}
			}}
			c := resilience.New(f, limited(600, 10, resilience.StrategyWait, false), resilience.Env{})
			c.ReadPage(t.Context(), sdk.ReadRequest{})
			c.ReadPage(t.Context(), sdk.ReadRequest{})
			if r, b := c.Limiter().Limit(); r != 10 || b != 10 {
				t.Fatalf("rate %v burst %d", r, b)
			}
		})
	})
}

func TestRateLimitedAnswerPausesTheSharedLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ls := resilience.NewLimiters()
		p := limited(600, 10, resilience.StrategyWait, true)
		p.Retry = resilience.Retry{MaxAttempts: 2, InitialDelay: time.Second, MaxDelay: time.Minute, Multiplier: 2}
		fa := &fakeConn{script: failFirst(1, errclass.RateLimitedf(4*time.Second, "429"))}
		fb := &fakeConn{}
		a := resilience.New(fa, p, resilience.Env{Name: "a", Host: "h", Limiters: ls})
		b := resilience.New(fb, p, resilience.Env{Name: "b", Host: "h", Limiters: ls})
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- a.Check(t.Context()) }()
		synctest.Wait() // a got its 429 and waits 4 s
		if err := b.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := fb.times()[0].Sub(start); got != 4*time.Second {
			t.Fatalf("b called at %v, want 4s: the host's 429 holds back every connector on it", got)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
