package resilience_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func budgeted(ratio float64, minRetries int) resilience.Policy {
	return resilience.Policy{Enabled: true,
		Retry:  resilience.Retry{MaxAttempts: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 2, Jitter: true},
		Budget: resilience.Budget{Ratio: ratio, Window: time.Minute, MinRetries: minRetries}}
}

// TestDeadPluginAttemptsStayNearTheBudget sends 1,000 calls to a connector
// that always fails TRANSIENT, with max_attempts 3: without a budget that
// is 3,000 attempts; with a 10% budget 100 calls are admitted to retrying
// (each then makes its 3 attempts): 1,200.
func TestDeadPluginAttemptsStayNearTheBudget(t *testing.T) {
	tests := []struct {
		name       string
		ratio      float64
		minRetries int
		max        int
	}{
		{"10% budget", 0.1, 0, 1200},
		{"10% budget, 10 calls always admitted (the default)", 0.1, 10, 1220},
		{"no budget", 0, 0, 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs logBuf
				f := &fakeConn{script: always(errclass.Transientf("connection refused"))}
				p := budgeted(tt.ratio, tt.minRetries)
				if tt.ratio == 0 {
					p.Budget = resilience.Budget{}
				}
				c := resilience.New(f, p, resilience.Env{Name: "dead", Logger: logs.logger()})
				for range 1000 {
					if err := c.Check(t.Context()); err == nil {
						t.Fatal("a call succeeded")
					}
				}
				t.Logf("1000 calls to a dead plugin: %d attempts (%d retries)", f.calls(), c.Stats().Retries)
				if f.calls() > tt.max || f.calls() < tt.max-5 {
					t.Fatalf("attempts = %d, want about %d", f.calls(), tt.max)
				}
				n := strings.Count(logs.String(), "Retry budget for 'dead' is exhausted")
				if tt.ratio > 0 && n == 0 {
					t.Fatalf("no budget line in the log")
				}
				// Once per episode, not once per call: the budget lets a
				// retry through every tenth call, each starting a new one.
				if n > 110 {
					t.Fatalf("%d budget lines", n)
				}
			})
		})
	}
}

func TestBudgetLogLineAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuf
		fail := error(errclass.Transientf("connection refused"))
		f := &fakeConn{script: switchable(&fail)}
		p := budgeted(0.5, 0)
		p.Retry.MaxAttempts = 2
		c := resilience.New(f, p, resilience.Env{Name: "api", Logger: logs.logger()})
		// 1st call: 0 retries < 0.5·1 calls: its retry is allowed.
		// 2nd call: 1 retry < 0.5·2 calls? no: denied.
		c.Check(t.Context())
		c.Check(t.Context())
		if f.calls() != 3 {
			t.Fatalf("attempts %d, want 3", f.calls())
		}
		want := "Retry budget for 'api' is exhausted: not retrying operation 'test_connection' after error: connection refused. Calls fail without retries until the budget recovers."
		if m := logs.messages(); len(m) != 2 || m[1] != want {
			t.Fatalf("logs %q", m)
		}
		// A minute later the window has slid past those calls.
		time.Sleep(time.Minute)
		c.Check(t.Context())
		if f.calls() != 5 {
			t.Fatalf("attempts %d, want 5: the budget recovered", f.calls())
		}
	})
}

// TestBudgetGivesBackRetriesThatSucceeded: a flaky connector whose every
// call fails once and then gets through is never stopped by the budget,
// however tight: those retries helped.
func TestBudgetGivesBackRetriesThatSucceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{script: func(n int) error {
			if n%2 == 1 {
				return errclass.Transientf("503")
			}
			return nil
		}}
		c := resilience.New(f, budgeted(0.1, 0), resilience.Env{})
		for i := range 1000 {
			if err := c.Check(t.Context()); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		if f.calls() != 2000 {
			t.Fatalf("attempts %d", f.calls())
		}
		// Now it dies: 10% of the window's calls may still be retried. The
		// k-th failing call is admitted while the admitted ones are fewer
		// than 0.1·(1000+k): the first 112 are, then one in ten as calls
		// keep coming, 120 in all (0.1 × 1200 calls in the window), each
		// making its 3 attempts; the other 80 make one.
		f.mu.Lock()
		f.script = always(errclass.Transientf("connection refused"))
		f.mu.Unlock()
		for range 200 {
			c.Check(t.Context())
		}
		if got := f.calls() - 2000; got != 120*3+80 {
			t.Fatalf("attempts after the outage began = %d, want %d (120 calls admitted to retrying)", got, 120*3+80)
		}
	})
}

// TestBudgetLetsOneCallRideOutAnOutage: a connector making one call at a
// time (a flow's read or write) whose server is down for longer than the
// budget's MinRetries worth of retries: the call, once admitted, retries
// up to max_attempts and succeeds when the server is back.
func TestBudgetLetsOneCallRideOutAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeConn{script: func(n int) error {
			if n <= 30 {
				return errclass.Transientf("connection refused")
			}
			return nil
		}}
		p := budgeted(0.1, 10)
		p.Retry.MaxAttempts = 60
		c := resilience.New(f, p, resilience.Env{})
		if err := c.Check(t.Context()); err != nil {
			t.Fatalf("the call failed after 30 refused attempts with max_attempts 60: %v", err)
		}
		if f.calls() != 31 {
			t.Fatalf("attempts %d, want 31", f.calls())
		}
	})
}
