package resilience_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	hostconn "github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/metrics"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// nopConn answers every call at once.
type nopConn struct{}

func (nopConn) Spec(context.Context) (sdk.Spec, error) { return sdk.Spec{}, nil }
func (nopConn) Configure(context.Context, json.RawMessage) ([]sdk.FieldError, error) {
	return nil, nil
}
func (nopConn) Check(context.Context) error                    { return nil }
func (nopConn) Discover(context.Context) ([]sdk.Stream, error) { return nil, nil }
func (nopConn) ReadPage(context.Context, sdk.ReadRequest) (hostconn.Page, error) {
	return hostconn.Page{Rows: 1}, nil
}
func (nopConn) BeginWrite(context.Context, sdk.WriteRequest) error      { return nil }
func (nopConn) WriteBatch(context.Context, string, int64, []byte) error { return nil }
func (nopConn) CommitWrite(context.Context, string, []byte) (map[string]string, error) {
	return nil, nil
}
func (nopConn) AbortWrite(context.Context, string) error                     { return nil }
func (nopConn) CheckWrite(context.Context, sdk.WriteRequest) (string, error) { return "", nil }
func (nopConn) LoadState(context.Context, string) ([]byte, bool, error) {
	return nil, false, nil
}
func (nopConn) DeleteState(context.Context, string) (bool, error) { return false, nil }

// fullPolicy is the rest profile's shape with a limiter that never makes a
// call wait (the success path).
func fullPolicy(timeout time.Duration) resilience.Policy {
	return resilience.Policy{Enabled: true, CallTimeout: timeout,
		Retry:     resilience.Retry{MaxAttempts: 3, InitialDelay: time.Second, MaxDelay: 30 * time.Second, Multiplier: 2, Jitter: true},
		Breaker:   resilience.Breaker{Enabled: true, FailureThreshold: 5, RecoveryTimeout: time.Minute, SuccessThreshold: 2},
		RateLimit: resilience.RateLimit{Enabled: true, PerMinute: 1e12, Burst: 1 << 30, PerHost: true, Strategy: resilience.StrategyWait},
		Recovery:  resilience.Recovery{ConnectionRecovery: true, CredentialRefresh: true},
		Budget:    resilience.Budget{Ratio: 0.1, Window: time.Minute, MinRetries: 10},
	}
}

// BenchmarkPolicyOverhead measures one WriteBatch call on the success path
// through each layer; compare with "bare" for the policy's own cost.
func BenchmarkPolicyOverhead(b *testing.B) {
	env := resilience.Env{Name: "bench", Type: "rest", Host: "api.example.com", Limiters: resilience.NewLimiters()}
	withMetrics := env
	withMetrics.Metrics = metrics.New()
	cases := []struct {
		name string
		conn hostconn.Conn
	}{
		{"bare", nopConn{}},
		{"disabled", resilience.Wrap(nopConn{}, resilience.Policy{}, env)},
		{"retry only", resilience.Wrap(nopConn{}, resilience.Policy{Enabled: true, Retry: fullPolicy(0).Retry}, env)},
		{"breaker", resilience.Wrap(nopConn{}, resilience.Policy{Enabled: true, Retry: fullPolicy(0).Retry, Breaker: fullPolicy(0).Breaker}, env)},
		{"limiter", resilience.Wrap(nopConn{}, resilience.Policy{Enabled: true, Retry: fullPolicy(0).Retry, RateLimit: fullPolicy(0).RateLimit}, env)},
		{"full", resilience.Wrap(nopConn{}, fullPolicy(0), env)},
		{"full+metrics", resilience.Wrap(nopConn{}, fullPolicy(0), withMetrics)},
		{"full+timeout", resilience.Wrap(nopConn{}, fullPolicy(30*time.Second), env)},
		{"full+timeout+metrics", resilience.Wrap(nopConn{}, fullPolicy(30*time.Second), withMetrics)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.conn.WriteBatch(ctx, "w", 1, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
