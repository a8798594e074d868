package resilience_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// TestCountersShowWhatACallWaitsOn: while a call waits out a retry's
// backoff, a RATE_LIMITED answer's wait or a plugin's restart, the
// counters attached to its context say so (Backoff, Waiting, Recovering),
// and say nothing once it is over. A live view reads its phases from them.
func TestCountersShowWhatACallWaitsOn(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		recover bool
		want    func(resilience.Stats) int64
	}{
		{name: "backoff", err: errclass.Transientf("connection reset"), want: func(s resilience.Stats) int64 { return s.Backoff }},
		{name: "rate limit", err: errclass.RateLimitedf(5*time.Second, "429"), want: func(s resilience.Stats) int64 { return s.Waiting }},
		{name: "restart", err: errclass.Wrap(errclass.Transient, &rpcclient.TransportError{Code: codes.Unavailable, Err: errors.New("connection refused")}), recover: true, want: func(s resilience.Stats) int64 { return s.Recovering }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeConn{script: failFirst(1, tt.err)}
				pol := retryOnly(3, 2*time.Second, 30*time.Second, 2, false)
				env := resilience.Env{Name: "c"}
				release := make(chan struct{})
				if tt.recover {
					pol.Recovery.ConnectionRecovery = true
					env.Recover = func(ctx context.Context) error { <-release; return nil }
				}
				c := resilience.New(f, pol, env)
				var fc resilience.Counters
				done := make(chan error)
				go func() {
					_, err := c.ReadPage(resilience.WithCounters(t.Context(), &fc), sdk.ReadRequest{})
					done <- err
				}()
				synctest.Wait()
				if got := tt.want(fc.Stats()); got != 1 {
					t.Fatalf("while the call waits: %+v", fc.Stats())
				}
				close(release)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if s := fc.Stats(); s.Backoff != 0 || s.Waiting != 0 || s.Recovering != 0 || s.Retries != 1 {
					t.Fatalf("after the call: %+v", s)
				}
			})
		})
	}
}
