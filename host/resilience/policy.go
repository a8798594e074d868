// Package resilience owns the host's policy around every call to a
// connector: per-call timeout, rate limiter, circuit breaker, retry with
// exponential backoff and full jitter under a retry budget, and the hooks
// for crash recovery and credential refresh. It resolves each connector's
// effective policy from the three configuration tiers and the connector's
// profile, remembering where every value came from.
package resilience

import "time"

// Strategy is what a rate limiter does when no token is free.
type Strategy string

const (
	// StrategyWait blocks the call until a token is free (or its deadline).
	StrategyWait Strategy = "wait"
	// StrategyFail returns a RATE_LIMITED error at once.
	StrategyFail Strategy = "fail"
)

// Retry is the retry part of a policy.
type Retry struct {
	// MaxAttempts counts every attempt, the first included; 1 means no
	// retry.
	MaxAttempts int
	// InitialDelay is the backoff cap of the first retry.
	InitialDelay time.Duration
	// MaxDelay caps every backoff.
	MaxDelay time.Duration
	// Multiplier grows the cap per retry (at least 1).
	Multiplier float64
	// Jitter draws each delay uniformly from [0, cap] (full jitter) when
	// true; uses the cap itself when false.
	Jitter bool
}

// Breaker is the circuit-breaker part of a policy.
type Breaker struct {
	// Enabled turns the breaker on.
	Enabled bool
	// FailureThreshold is how many consecutive counted failures open it.
	FailureThreshold int
	// RecoveryTimeout is how long it stays open before letting probes
	// through (half-open).
	RecoveryTimeout time.Duration
	// SuccessThreshold is how many consecutive successes in half-open
	// close it.
	SuccessThreshold int
	// Shared makes an opening of the breaker hold back every process that
	// shares the connector's rate limit (RateLimit.Shared, through the
	// same PostgreSQL database) until RecoveryTimeout has passed.
	Shared bool
}

// RateLimit is the rate-limiter part of a policy.
type RateLimit struct {
	// Enabled turns the limiter on.
	Enabled bool
	// PerMinute is the sustained rate in calls per minute.
	PerMinute float64
	// Burst is the token bucket's size.
	Burst int
	// PerHost shares one limiter among every connector that talks to the
	// same target host.
	PerHost bool
	// Strategy is what a call does when no token is free.
	Strategy Strategy
	// Shared enforces the limit across every process sharing the host's
	// PostgreSQL database (Limiters.Shared); without one it stays local.
	Shared bool
}

// Recovery is the crash-recovery part of a policy.
type Recovery struct {
	// ConnectionRecovery restarts a crashed or hung plugin.
	ConnectionRecovery bool
	// CredentialRefresh re-resolves secrets and configures again on
	// AUTH_EXPIRED.
	CredentialRefresh bool
	// CheckInterval is how often a running plugin is health-pinged.
	CheckInterval time.Duration
	// MaxRestarts is how many restarts RestartWindow allows before the
	// connector is given up on (the crash-loop limit).
	MaxRestarts int
	// RestartWindow is the sliding window MaxRestarts counts over.
	RestartWindow time.Duration
}

// Budget bounds the calls that retry to a share of calls over a sliding
// window, so an outage cannot turn into a retry storm. A call is admitted
// at its first retry; an admitted call retries up to Retry.MaxAttempts.
type Budget struct {
	// Ratio is the largest share of calls that may retry (0.1 = 10%).
	Ratio float64
	// Window is the sliding window the share is measured over.
	Window time.Duration
	// MinRetries is how many calls may always retry per window, so a
	// connector making few calls can still retry.
	MinRetries int
}

// Policy is one connector instance's effective policy.
type Policy struct {
	// Enabled is false for `resilience: false` and for the memory profile:
	// calls go straight through (no timeout, limiter, breaker or retry).
	Enabled bool
	// CallTimeout bounds every call (a context deadline that reaches the
	// plugin); zero means none.
	CallTimeout time.Duration
	// CommitTimeout bounds CommitWrite instead of CallTimeout: a commit
	// does work that grows with the write (a parquet file encoded, a table
	// swapped, objects completed), so it gets its own, longer bound.
	CommitTimeout time.Duration
	Retry         Retry
	Breaker       Breaker
	RateLimit     RateLimit
	Recovery      Recovery
	Budget        Budget
}
