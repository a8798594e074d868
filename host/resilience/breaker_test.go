package resilience_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// breakerOnly is a policy with a breaker (3 failures, 60 s open, 2
// successes to close) and no retry.
func breakerOnly() resilience.Policy {
	return resilience.Policy{Enabled: true, Retry: resilience.Retry{MaxAttempts: 1},
		Breaker: resilience.Breaker{Enabled: true, FailureThreshold: 3, RecoveryTimeout: time.Minute, SuccessThreshold: 2}}
}

// switchable answers with the error *err points to at the time of the call.
func switchable(err *error) func(int) error { return func(int) error { return *err } }

func TestBreakerClosedOpenHalfOpenClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuf
		m := metrics.New()
		var fail error = errclass.Transientf("connection refused")
		f := &fakeConn{script: switchable(&fail)}
		c := resilience.New(f, breakerOnly(), resilience.Env{Name: "orders_api", Type: "rest", Logger: logs.logger(), Metrics: m})
		gauge := m.BreakerState.WithLabelValues("rest", "orders_api", "all")
		ctx := t.Context()

		// StateClosed to StateOpen: three consecutive counted failures.
		for range 3 {
			if err := c.Check(ctx); err != fail {
				t.Fatalf("err = %v", err)
			}
		}
		if c.BreakerState() != "open" || value(gauge) != metrics.BreakerOpen {
			t.Fatalf("state %s, gauge %v after 3 failures", c.BreakerState(), value(gauge))
		}
		// Open: calls fail fast without reaching the connector.
		err := c.Check(ctx)
		if !errors.Is(err, resilience.ErrCircuitOpen) || !errclass.Is(err, errclass.Transient) || f.calls() != 3 {
			t.Fatalf("err = %v, calls %d", err, f.calls())
		}
		if want := "circuit breaker for 'orders_api' is open: failing fast (last failure: connection refused)"; err.Error() != want {
			t.Fatalf("message %q, want %q", err.Error(), want)
		}
		// StateOpen to StateHalfOpen after the recovery timeout; a success
		// probes, a second one closes.
		time.Sleep(time.Minute + time.Millisecond)
		fail = nil
		if err := c.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if c.BreakerState() != "half-open" || value(gauge) != metrics.BreakerHalfOpen {
			t.Fatalf("state %s after one probe", c.BreakerState())
		}
		if err := c.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if c.BreakerState() != "closed" || value(gauge) != metrics.BreakerClosed {
			t.Fatalf("state %s after two probes", c.BreakerState())
		}
		want := []string{
			"Circuit breaker for 'orders_api' is now OPEN. Failing fast.",
			"Circuit breaker for 'orders_api' is now HALF-OPEN. Probing.",
			"Circuit breaker for 'orders_api' is now CLOSED.",
		}
		if got := logs.messages(); !slices.Equal(got, want) {
			t.Fatalf("logs:\n%q\nwant\n%q", got, want)
		}
	})
}

func TestBreakerHalfOpenToOpenOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuf
		var fail error = errclass.Transientf("503")
		f := &fakeConn{script: switchable(&fail)}
		c := resilience.New(f, breakerOnly(), resilience.Env{Name: "api", Logger: logs.logger()})
		for range 3 {
			c.Check(t.Context())
		}
		time.Sleep(time.Minute + time.Millisecond)
		// StateHalfOpen to StateOpen: the probe fails.
		if err := c.Check(t.Context()); err != fail {
			t.Fatalf("probe err = %v", err)
		}
		if c.BreakerState() != "open" || f.calls() != 4 {
			t.Fatalf("state %s, calls %d", c.BreakerState(), f.calls())
		}
		want := []string{
			"Circuit breaker for 'api' is now OPEN. Failing fast.",
			"Circuit breaker for 'api' is now HALF-OPEN. Probing.",
			"Circuit breaker for 'api' is now OPEN. Failing fast.",
		}
		if got := logs.messages(); !slices.Equal(got, want) {
			t.Fatalf("logs:\n%q\nwant\n%q", got, want)
		}
	})
}

func TestBreakerHalfOpenLetsOnlySuccessThresholdProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fail error = errclass.Transientf("503")
		f := &fakeConn{script: switchable(&fail)}
		c := resilience.New(f, breakerOnly(), resilience.Env{Name: "api"})
		for range 3 {
			c.Check(t.Context())
		}
		time.Sleep(time.Minute + time.Millisecond)
		fail = errBlock // probes hang until cancelled
		ctx, cancel := context.WithCancel(t.Context())
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- c.Check(ctx) }()
		}
		synctest.Wait()
		// Two probes are in; the third is refused.
		if err := <-errs; !errors.Is(err, resilience.ErrCircuitOpen) || f.calls() != 5 ||
			err.Error() != "circuit breaker for 'api' is half-open and its probes are out: failing fast (last failure: 503)" {
			t.Fatalf("third probe: %v, calls %d", err, f.calls())
		}
		cancel()
		<-errs
		<-errs
		// Cancelled probes count neither way: still half-open.
		if c.BreakerState() != "half-open" {
			t.Fatalf("state %s", c.BreakerState())
		}
	})
}

func TestBreakerDoesNotCount(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"permanent", errclass.Permanentf("column \"x\" does not exist")},
		{"unclassified", errors.New("bad request")},
		{"auth expired", errclass.AuthExpiredf("token expired")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeConn{script: always(tt.err)}
				p := breakerOnly()
				p.Retry = resilience.Retry{MaxAttempts: 5, InitialDelay: time.Second, MaxDelay: time.Second, Multiplier: 1}
				c := resilience.New(f, p, resilience.Env{})
				for range 10 {
					c.Check(t.Context())
				}
				if c.BreakerState() != "closed" {
					t.Fatalf("state %s after 10 %s errors", c.BreakerState(), tt.name)
				}
			})
		})
	}
	t.Run("a permanent error resets the consecutive failures", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: func(n int) error {
				if n%3 == 0 {
					return errclass.Permanentf("not found")
				}
				return errclass.Transientf("503")
			}}
			c := resilience.New(f, breakerOnly(), resilience.Env{})
			for range 9 {
				c.Check(t.Context())
			}
			if c.BreakerState() != "closed" {
				t.Fatalf("state %s", c.BreakerState())
			}
		})
	})
	t.Run("caller cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: always(errBlock)}
			c := resilience.New(f, breakerOnly(), resilience.Env{})
			for range 10 {
				ctx, cancel := context.WithCancel(t.Context())
				go func() { time.Sleep(time.Second); cancel() }()
				if err := c.Check(ctx); !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
			}
			if c.BreakerState() != "closed" {
				t.Fatalf("state %s after 10 cancels", c.BreakerState())
			}
		})
	})
	t.Run("the per-call timeout counts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: always(errBlock)}
			p := breakerOnly()
			p.CallTimeout = time.Second
			c := resilience.New(f, p, resilience.Env{})
			for range 3 {
				if err := c.Check(t.Context()); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatal(err)
				}
			}
			if c.BreakerState() != "open" {
				t.Fatalf("state %s after 3 hung calls", c.BreakerState())
			}
		})
	})
}

func TestBreakerRateLimitedCountsOnlyWhenItPersists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := breakerOnly()
		p.Breaker.FailureThreshold = 1
		p.Retry = resilience.Retry{MaxAttempts: 3, InitialDelay: time.Second, MaxDelay: time.Second, Multiplier: 1}
		// Rate limited twice, then through: retried, never counted.
		f := &fakeConn{script: failFirst(2, errclass.RateLimitedf(0, "429"))}
		c := resilience.New(f, p, resilience.Env{})
		if err := c.Check(t.Context()); err != nil || c.BreakerState() != "closed" {
			t.Fatalf("err %v, state %s", err, c.BreakerState())
		}
		// Rate limited through every attempt: the final answer counts.
		f = &fakeConn{script: always(errclass.RateLimitedf(0, "429"))}
		c = resilience.New(f, p, resilience.Env{})
		if err := c.Check(t.Context()); !errclass.Is(err, errclass.RateLimited) || f.calls() != 3 {
			t.Fatalf("err %v after %d", err, f.calls())
		}
		if c.BreakerState() != "open" {
			t.Fatalf("state %s", c.BreakerState())
		}
	})
}

func TestBreakerOpensMidRetryAndFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuf
		p := breakerOnly()
		p.Retry = resilience.Retry{MaxAttempts: 10, InitialDelay: time.Second, MaxDelay: time.Second, Multiplier: 1}
		fail := errclass.Transientf("503")
		f := &fakeConn{script: always(fail)}
		c := resilience.New(f, p, resilience.Env{Name: "flaky", Logger: logs.logger()})
		// The third failure opens the breaker: the call ends with it, without
		// a retry the breaker would refuse.
		if err := c.Check(t.Context()); err != fail || f.calls() != 3 {
			t.Fatalf("err %v after %d attempts; want the breaker to stop at 3", err, f.calls())
		}
		want := []string{
			"Retrying operation 'test_connection' (attempt 2/10) after error: 503. Next retry in 1.0s.",
			"Retrying operation 'test_connection' (attempt 3/10) after error: 503. Next retry in 1.0s.",
			"Circuit breaker for 'flaky' is now OPEN. Failing fast.",
		}
		if got := logs.messages(); !slices.Equal(got, want) {
			t.Fatalf("logs:\n%q\nwant\n%q", got, want)
		}
		// The next call fails fast.
		start := time.Now()
		if err := c.Check(t.Context()); !errors.Is(err, resilience.ErrCircuitOpen) || f.calls() != 3 || time.Since(start) != 0 {
			t.Fatalf("err %v, calls %d", err, f.calls())
		}
	})
}

// value reads a counter's or gauge's value, or a histogram's sample sum.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	case d.Histogram != nil:
		return d.Histogram.GetSampleSum()
	}
	return 0
}
