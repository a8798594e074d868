package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	hostconn "github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// retryOnly is a policy with retries and nothing else.
func retryOnly(attempts int, initial, maxDelay time.Duration, mult float64, jitter bool) resilience.Policy {
	return resilience.Policy{Enabled: true, Retry: resilience.Retry{
		MaxAttempts: attempts, InitialDelay: initial, MaxDelay: maxDelay, Multiplier: mult, Jitter: jitter}}
}

func always(err error) func(int) error { return func(int) error { return err } }

// failFirst fails the first n calls with err.
func failFirst(n int, err error) func(int) error {
	return func(i int) error {
		if i <= n {
			return err
		}
		return nil
	}
}

func TestWrapDisabledIsTheConnItself(t *testing.T) {
	f := &fakeConn{}
	if got := resilience.Wrap(f, resilience.Policy{Enabled: false, Retry: resilience.Retry{MaxAttempts: 5}}, resilience.Env{}); got != hostconn.Conn(f) {
		t.Fatalf("Wrap of a disabled policy = %T, want the conn itself", got)
	}
}

func TestRetryAttemptsAndLogLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuf
		f := &fakeConn{script: always(errclass.Transientf("connection timed out"))}
		c := resilience.New(f, retryOnly(3, time.Second, 30*time.Second, 2, false), resilience.Env{Name: "orders_api", Logger: logs.logger()})
		start := time.Now()
		_, err := c.ReadPage(t.Context(), sdk.ReadRequest{})
		if !errclass.Is(err, errclass.Transient) || err.Error() != "connection timed out" {
			t.Fatalf("err = %v, want the last attempt's error unchanged", err)
		}
		if f.calls() != 3 {
			t.Fatalf("attempts = %d, want 3", f.calls())
		}
		if got, want := gaps(append([]time.Time{start}, f.times()...)), []time.Duration{0, time.Second, 2 * time.Second}; !slices.Equal(got, want) {
			t.Fatalf("gaps = %v, want %v", got, want)
		}
		want := []string{
			"Retrying operation 'read' (attempt 2/3) after error: connection timed out. Next retry in 1.0s.",
			"Retrying operation 'read' (attempt 3/3) after error: connection timed out. Next retry in 2.0s.",
		}
		if got := logs.messages(); !slices.Equal(got, want) {
			t.Fatalf("logs:\n%q\nwant\n%q", got, want)
		}
		// At debug level every failed attempt has its own line, the last
		// one (not retried) included.
		want = []string{
			"Operation 'read' attempt 1/3 failed (TRANSIENT): connection timed out",
			"Operation 'read' attempt 2/3 failed (TRANSIENT): connection timed out",
			"Operation 'read' attempt 3/3 failed (TRANSIENT): connection timed out",
		}
		if got := logs.attempts(); !slices.Equal(got, want) {
			t.Fatalf("attempt lines:\n%q\nwant\n%q", got, want)
		}
		if s := c.Stats(); s.Retries != 2 {
			t.Fatalf("stats = %+v", s)
		}
	})
}

func TestRetrySucceedsAfterTransientFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{script: failFirst(2, errclass.Transientf("503"))}
		c := resilience.New(f, retryOnly(5, 100*time.Millisecond, time.Second, 2, false), resilience.Env{})
		if err := c.WriteBatch(t.Context(), "w", 1, nil); err != nil {
			t.Fatal(err)
		}
		if f.calls() != 3 {
			t.Fatalf("attempts = %d, want 3", f.calls())
		}
	})
}

func TestOperationNames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuf
		f := &fakeConn{script: func(n int) error {
			if n%2 == 1 {
				return errclass.Transientf("x")
			}
			return nil
		}}
		c := resilience.New(f, retryOnly(2, 0, 0, 1, false), resilience.Env{Logger: logs.logger()})
		ctx := t.Context()
		c.Spec(ctx)
		c.Configure(ctx, nil)
		c.Check(ctx)
		c.Discover(ctx)
		c.ReadPage(ctx, sdk.ReadRequest{})
		c.BeginWrite(ctx, sdk.WriteRequest{})
		c.WriteBatch(ctx, "w", 1, nil)
		c.CommitWrite(ctx, "w", nil)
		c.AbortWrite(ctx, "w")
		var ops []string
		for _, m := range logs.messages() {
			var op string
			fmt.Sscanf(m, "Retrying operation %s", &op)
			ops = append(ops, op)
		}
		want := []string{"'spec'", "'configure'", "'test_connection'", "'discover'", "'read'", "'write'", "'write'", "'commit'", "'abort'"}
		if !slices.Equal(ops, want) {
			t.Fatalf("ops = %v, want %v", ops, want)
		}
	})
}

func TestBackoffFullJitterWithinBoundsAndCapped(t *testing.T) {
	// caps: 1, 2, 4, 8, 10, 10 s (initial 1 s, ×2, max 10 s).
	caps := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	t.Run("exact delays with an injected source", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := []float64{0.5, 0.25, 0.999, 0, 0.5, 0.75}
			f := &fakeConn{script: always(errclass.Transientf("x"))}
			c := resilience.New(f, retryOnly(7, time.Second, 10*time.Second, 2, true), resilience.Env{Rand: seq(r...)})
			c.Check(t.Context())
			got := gaps(f.times())
			for i, g := range got {
				want := time.Duration(float64(caps[i]) * r[i])
				if g != want {
					t.Fatalf("delay %d = %v, want %v (gaps %v)", i+1, g, want, got)
				}
			}
		})
	})
	t.Run("random delays stay within [0, cap]", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			for range 50 {
				f := &fakeConn{script: always(errclass.Transientf("x"))}
				c := resilience.New(f, retryOnly(7, time.Second, 10*time.Second, 2, true), resilience.Env{})
				c.Check(t.Context())
				for i, g := range gaps(f.times()) {
					if g < 0 || g > caps[i] {
						t.Fatalf("delay %d = %v, outside [0, %v]", i+1, g, caps[i])
					}
				}
			}
		})
	})
	t.Run("no jitter uses the cap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: always(errclass.Transientf("x"))}
			c := resilience.New(f, retryOnly(7, time.Second, 10*time.Second, 2, false), resilience.Env{})
			c.Check(t.Context())
			if got := gaps(f.times()); !slices.Equal(got, caps) {
				t.Fatalf("gaps = %v, want %v", got, caps)
			}
		})
	})
}

func TestRetryAfterHonouredAndCapped(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		want       time.Duration
	}{
		{"honoured", 5 * time.Second, 5 * time.Second},
		{"an hour is capped at max delay", time.Hour, 30 * time.Second},
		{"none: backoff", 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs logBuf
				f := &fakeConn{script: failFirst(1, errclass.RateLimitedf(tt.retryAfter, "429 Too Many Requests"))}
				c := resilience.New(f, retryOnly(3, time.Second, 30*time.Second, 2, false), resilience.Env{Logger: logs.logger()})
				if _, err := c.ReadPage(t.Context(), sdk.ReadRequest{}); err != nil {
					t.Fatal(err)
				}
				if got := gaps(f.times()); len(got) != 1 || got[0] != tt.want {
					t.Fatalf("gaps = %v, want [%v]", got, tt.want)
				}
				if s := c.Stats(); s.RateLimitWait != tt.want || s.Retries != 1 {
					t.Fatalf("stats = %+v", s)
				}
				want := fmt.Sprintf("Retrying operation 'read' (attempt 2/3) after error: 429 Too Many Requests. Next retry in %.1fs.", tt.want.Seconds())
				if m := logs.messages(); len(m) != 1 || m[0] != want {
					t.Fatalf("logs = %q", m)
				}
			})
		})
	}
}

func TestNoRetryPastTheCallersDeadline(t *testing.T) {
	t.Run("backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: always(errclass.Transientf("x"))}
			c := resilience.New(f, retryOnly(5, time.Second, 30*time.Second, 2, false), resilience.Env{})
			ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Discover(ctx)
			// Attempts at 0 s and 1 s; the next would start at 3 s, past 2.5 s.
			if !errclass.Is(err, errclass.Transient) || f.calls() != 2 {
				t.Fatalf("err = %v after %d attempts", err, f.calls())
			}
			if el := time.Since(start); el != time.Second {
				t.Fatalf("returned after %v, want 1s (at the failed attempt, not at the deadline)", el)
			}
		})
	})
	t.Run("retry after beyond the deadline returns now", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: always(errclass.RateLimitedf(time.Hour, "quota exceeded"))}
			c := resilience.New(f, retryOnly(5, time.Second, 30*time.Second, 2, false), resilience.Env{})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := c.Discover(ctx)
			if errclass.RetryAfter(err) != time.Hour || f.calls() != 1 || time.Since(start) != 0 {
				t.Fatalf("err = %v after %d attempts and %v", err, f.calls(), time.Since(start))
			}
		})
	})
}

func TestPermanentNeverRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, err := range []error{errclass.Permanentf("relation \"x\" does not exist"), errors.New("unclassified")} {
			f := &fakeConn{script: always(err)}
			c := resilience.New(f, retryOnly(5, time.Second, time.Minute, 2, false), resilience.Env{})
			if got := c.Check(t.Context()); got != err || f.calls() != 1 {
				t.Fatalf("err = %v after %d attempts, want %v after 1", got, f.calls(), err)
			}
		}
	})
}

func TestCallerCancelNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{script: always(errBlock)}
		c := resilience.New(f, retryOnly(5, time.Second, time.Minute, 2, false), resilience.Env{})
		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(time.Second); cancel() }()
		err := c.Check(ctx)
		if !errors.Is(err, context.Canceled) || f.calls() != 1 {
			t.Fatalf("err = %v after %d attempts", err, f.calls())
		}
	})
	t.Run("during the backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: always(errclass.Transientf("x"))}
			c := resilience.New(f, retryOnly(5, 10*time.Second, time.Minute, 2, false), resilience.Env{})
			ctx, cancel := context.WithCancel(t.Context())
			go func() { time.Sleep(time.Second); cancel() }()
			err := c.Check(ctx)
			if !errors.Is(err, context.Canceled) || f.calls() != 1 {
				t.Fatalf("err = %v after %d attempts", err, f.calls())
			}
		})
	})
}

func TestCallTimeoutReachesThePluginAndIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{script: failFirst(1, errBlock)}
		p := retryOnly(3, time.Second, time.Minute, 2, false)
		p.CallTimeout = 5 * time.Second
		c := resilience.New(f, p, resilience.Env{})
		start := time.Now()
		if _, err := c.ReadPage(t.Context(), sdk.ReadRequest{}); err != nil {
			t.Fatal(err)
		}
		// The hung first attempt times out at 5 s; the retry starts 1 s later.
		if got := f.times(); len(got) != 2 || got[1].Sub(start) != 6*time.Second {
			t.Fatalf("attempts at %v", got)
		}
		if f.deadlines[0] != start.Add(5*time.Second) || f.deadlines[1] != start.Add(11*time.Second) {
			t.Fatalf("deadlines %v, want start+5s and start+11s", f.deadlines)
		}
	})
	t.Run("an earlier caller deadline wins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{}
			p := retryOnly(3, time.Second, time.Minute, 2, false)
			p.CallTimeout = 5 * time.Second
			c := resilience.New(f, p, resilience.Env{})
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			want, _ := ctx.Deadline()
			c.Check(ctx)
			if f.deadlines[0] != want {
				t.Fatalf("deadline %v, want %v", f.deadlines[0], want)
			}
		})
	})
}

// TestCommitTimeout: a commit's attempt is bounded by CommitTimeout, the
// other calls by CallTimeout.
func TestCommitTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{}
		p := retryOnly(3, time.Second, time.Minute, 2, false)
		p.CallTimeout = 30 * time.Second
		p.CommitTimeout = 30 * time.Minute
		c := resilience.New(f, p, resilience.Env{})
		start := time.Now()
		if err := c.WriteBatch(t.Context(), "w", 1, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CommitWrite(t.Context(), "w", nil); err != nil {
			t.Fatal(err)
		}
		if f.deadlines[0] != start.Add(30*time.Second) || f.deadlines[1] != start.Add(30*time.Minute) {
			t.Fatalf("deadlines %v, want start+30s (write) and start+30m (commit)", f.deadlines)
		}
	})
}

func TestAuthExpiredRefreshedAndRetriedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{script: always(errclass.AuthExpiredf("token expired"))}
		refreshed := 0
		p := retryOnly(5, time.Second, time.Minute, 2, false)
		p.Recovery.CredentialRefresh = true
		c := resilience.New(f, p, resilience.Env{Refresh: func(context.Context) error { refreshed++; return nil }})
		err := c.Check(t.Context())
		if !errclass.Is(err, errclass.AuthExpired) || f.calls() != 2 || refreshed != 1 {
			t.Fatalf("err = %v after %d attempts and %d refreshes, want 2 and 1", err, f.calls(), refreshed)
		}
		if gaps(f.times())[0] != 0 {
			t.Fatalf("the retry after a refresh waited %v", gaps(f.times())[0])
		}
	})
	t.Run("without refresh it is not retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: always(errclass.AuthExpiredf("token expired"))}
			c := resilience.New(f, retryOnly(5, time.Second, time.Minute, 2, false),
				resilience.Env{Refresh: func(context.Context) error { t.Fatal("refresh called"); return nil }})
			c.Check(t.Context())
			if f.calls() != 1 {
				t.Fatalf("attempts = %d", f.calls())
			}
		})
	})
}

func TestTransportFailureRecoversThePlugin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crash := errclass.Wrap(errclass.Transient, &rpcclient.TransportError{Err: errors.New("connection refused")})
		f := &fakeConn{script: failFirst(2, crash)}
		recovered := 0
		p := retryOnly(5, time.Second, time.Minute, 2, false)
		p.Recovery.ConnectionRecovery = true
		c := resilience.New(f, p, resilience.Env{Recover: func(context.Context) error {
			recovered++
			return nil
		}})
		var fc resilience.Counters
		if _, err := c.ReadPage(resilience.WithCounters(t.Context(), &fc), sdk.ReadRequest{}); err != nil {
			t.Fatal(err)
		}
		if recovered != 2 || c.Stats().Restarts != 2 || fc.Stats().Restarts != 2 || fc.Stats().Retries != 2 {
			t.Fatalf("recovered %d, stats %+v, flow stats %+v", recovered, c.Stats(), fc.Stats())
		}
	})
	t.Run("a given-up plugin ends the call", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			crash := errclass.Wrap(errclass.Transient, &rpcclient.TransportError{Err: errors.New("EOF")})
			f := &fakeConn{script: always(crash)}
			p := retryOnly(5, time.Second, time.Minute, 2, false)
			p.Recovery.ConnectionRecovery = true
			gaveUp := errclass.Permanentf("plugin given up after repeated crashes")
			c := resilience.New(f, p, resilience.Env{Recover: func(context.Context) error { return gaveUp }})
			if err := c.Check(t.Context()); err != gaveUp || f.calls() != 1 {
				t.Fatalf("err = %v after %d attempts", err, f.calls())
			}
		})
	})
	t.Run("a plugin error is not a crash", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeConn{script: failFirst(1, errclass.Transientf("503"))}
			p := retryOnly(5, time.Second, time.Minute, 2, false)
			p.Recovery.ConnectionRecovery = true
			c := resilience.New(f, p, resilience.Env{Recover: func(context.Context) error { t.Fatal("recover called"); return nil }})
			if err := c.Check(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestRetryLineSaysTheRealDelay: the retry line says the whole wait before
// the retry: a short backoff in milliseconds, not "0.0s", and a
// RATE_LIMITED answer's retry-after plus the token the rate limiter then
// waits for.
func TestRetryLineSaysTheRealDelay(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		policy func(resilience.Policy) resilience.Policy
		want   string
		gap    time.Duration
	}{
		{name: "short backoff", err: errclass.Transientf("reset"), want: "Next retry in 40ms.", gap: 40 * time.Millisecond},
		{name: "rate limit and its token", err: errclass.RateLimitedf(500*time.Millisecond, "throttled"),
			policy: func(p resilience.Policy) resilience.Policy {
				// One call a second, burst 1: the first call took the token.
				p.RateLimit = resilience.RateLimit{Enabled: true, PerMinute: 60, Burst: 1, Strategy: resilience.StrategyWait}
				return p
			},
			want: "Next retry in 1.0s.", gap: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs logBuf
				f := &fakeConn{script: failFirst(1, tt.err)}
				p := retryOnly(3, 40*time.Millisecond, 30*time.Second, 2, false)
				if tt.policy != nil {
					p = tt.policy(p)
				}
				c := resilience.New(f, p, resilience.Env{Name: "shop", Logger: logs.logger()})
				if _, err := c.ReadPage(t.Context(), sdk.ReadRequest{}); err != nil {
					t.Fatal(err)
				}
				m := logs.messages()
				if len(m) != 1 || !strings.HasSuffix(m[0], tt.want) {
					t.Fatalf("logs = %q, want a line ending %q", m, tt.want)
				}
				if got := gaps(f.times()); len(got) != 1 || got[0] != tt.gap {
					t.Fatalf("the retry came after %v, the line says %s", got, tt.want)
				}
			})
		})
	}
}
