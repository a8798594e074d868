package resilience

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// fieldKind is the type of a policy field as users write it.
type fieldKind int

const (
	kindBool     fieldKind = iota
	kindInt                // a whole number
	kindSeconds            // a number of seconds, kept as a time.Duration
	kindNumber             // any finite number
	kindStrategy           // wait or fail
)

// maxSeconds bounds every duration a user may write (one day): longer
// waits are surely mistakes, and it keeps time.Duration far from overflow.
const maxSeconds = 86400

// field is one field of a Policy, named by its path.
type field struct {
	// path is the field's name in provenance and in the resilience
	// command's output: the tier-3 block and key ("retry.max_attempts"),
	// or "enabled" and "timeout" for the policy's own fields.
	path string
	kind fieldKind
	// lo and hi bound a number (inclusive); loOpen excludes lo itself.
	lo, hi float64
	loOpen bool
	// allowed says what may be written, for error messages.
	allowed string
	// ptr returns a pointer to the field in p.
	ptr func(p *Policy) any
}

// fields are the policy's fields in display order.
var fields = []field{
	{path: "enabled", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.Enabled }},
	{path: "timeout", kind: kindSeconds, lo: 0, loOpen: true, hi: maxSeconds, allowed: "a number of seconds above 0, at most 86400",
		ptr: func(p *Policy) any { return &p.CallTimeout }},
	{path: "commit_timeout", kind: kindSeconds, lo: 0, loOpen: true, hi: maxSeconds, allowed: "a number of seconds above 0, at most 86400",
		ptr: func(p *Policy) any { return &p.CommitTimeout }},

	{path: "retry.max_attempts", kind: kindInt, lo: 1, hi: 100, allowed: "a whole number from 1 to 100 (1 means no retry)",
		ptr: func(p *Policy) any { return &p.Retry.MaxAttempts }},
	{path: "retry.initial_delay", kind: kindSeconds, lo: 0, hi: maxSeconds, allowed: "a number of seconds from 0 to 86400",
		ptr: func(p *Policy) any { return &p.Retry.InitialDelay }},
	{path: "retry.max_delay", kind: kindSeconds, lo: 0, hi: maxSeconds, allowed: "a number of seconds from 0 to 86400",
		ptr: func(p *Policy) any { return &p.Retry.MaxDelay }},
	{path: "retry.backoff_multiplier", kind: kindNumber, lo: 1, hi: 100, allowed: "a number from 1 to 100 (1 keeps every delay the same)",
		ptr: func(p *Policy) any { return &p.Retry.Multiplier }},
	{path: "retry.jitter", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.Retry.Jitter }},

	{path: "circuit_breaker.enabled", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.Breaker.Enabled }},
	{path: "circuit_breaker.failure_threshold", kind: kindInt, lo: 1, hi: 10000, allowed: "a whole number from 1 to 10000",
		ptr: func(p *Policy) any { return &p.Breaker.FailureThreshold }},
	{path: "circuit_breaker.recovery_timeout", kind: kindSeconds, lo: 0, loOpen: true, hi: maxSeconds, allowed: "a number of seconds above 0, at most 86400",
		ptr: func(p *Policy) any { return &p.Breaker.RecoveryTimeout }},
	{path: "circuit_breaker.success_threshold", kind: kindInt, lo: 1, hi: 10000, allowed: "a whole number from 1 to 10000",
		ptr: func(p *Policy) any { return &p.Breaker.SuccessThreshold }},
	{path: "circuit_breaker.shared", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.Breaker.Shared }},

	{path: "rate_limit.enabled", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.RateLimit.Enabled }},
	{path: "rate_limit.max_requests_per_minute", kind: kindNumber, lo: 0, loOpen: true, hi: 1e9, allowed: "a number of requests per minute above 0",
		ptr: func(p *Policy) any { return &p.RateLimit.PerMinute }},
	{path: "rate_limit.burst_size", kind: kindInt, lo: 1, hi: 1e6, allowed: "a whole number from 1 to 1000000",
		ptr: func(p *Policy) any { return &p.RateLimit.Burst }},
	{path: "rate_limit.per_host", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.RateLimit.PerHost }},
	{path: "rate_limit.backpressure_strategy", kind: kindStrategy, allowed: "wait or fail",
		ptr: func(p *Policy) any { return &p.RateLimit.Strategy }},
	{path: "rate_limit.shared", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.RateLimit.Shared }},

	{path: "recovery.enable_connection_recovery", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.Recovery.ConnectionRecovery }},
	{path: "recovery.enable_credential_refresh", kind: kindBool, allowed: "true or false",
		ptr: func(p *Policy) any { return &p.Recovery.CredentialRefresh }},
	{path: "recovery.recovery_check_interval", kind: kindSeconds, lo: 0, loOpen: true, hi: maxSeconds, allowed: "a number of seconds above 0, at most 86400",
		ptr: func(p *Policy) any { return &p.Recovery.CheckInterval }},
	{path: "recovery.max_restarts", kind: kindInt, lo: 1, hi: 1000, allowed: "a whole number from 1 to 1000",
		ptr: func(p *Policy) any { return &p.Recovery.MaxRestarts }},
	{path: "recovery.restart_window", kind: kindSeconds, lo: 0, loOpen: true, hi: maxSeconds, allowed: "a number of seconds above 0, at most 86400",
		ptr: func(p *Policy) any { return &p.Recovery.RestartWindow }},

	{path: "retry_budget.ratio", kind: kindNumber, lo: 0, loOpen: true, hi: 1, allowed: "a share above 0, at most 1",
		ptr: func(p *Policy) any { return &p.Budget.Ratio }},
	{path: "retry_budget.window", kind: kindSeconds, lo: 0, loOpen: true, hi: maxSeconds, allowed: "a number of seconds above 0, at most 86400",
		ptr: func(p *Policy) any { return &p.Budget.Window }},
	{path: "retry_budget.min_retries", kind: kindInt, lo: 0, hi: 1e6, allowed: "a whole number from 0 to 1000000",
		ptr: func(p *Policy) any { return &p.Budget.MinRetries }},
}

// Fields returns the paths of every policy field in display order:
// enabled, timeout (the per-call timeout), the retry.*, circuit_breaker.*,
// rate_limit.* and recovery.* fields as the tier-3 blocks name them, and
// retry_budget.* (not configurable in this version).
func Fields() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.path
	}
	return out
}

func fieldByPath(path string) (field, bool) {
	for _, f := range fields {
		if f.path == path {
			return f, true
		}
	}
	return field{}, false
}

// mustSet sets the field at path of p to v, which must have the field's
// Go type; a mismatch is a bug in this package's tables.
func mustSet(p *Policy, path string, v any) {
	f, ok := fieldByPath(path)
	if !ok {
		panic("resilience: unknown field " + path)
	}
	ok = false
	switch ptr := f.ptr(p).(type) {
	case *bool:
		var b bool
		if b, ok = v.(bool); ok {
			*ptr = b
		}
	case *int:
		var n int
		if n, ok = v.(int); ok {
			*ptr = n
		}
	case *float64:
		var x float64
		if x, ok = v.(float64); ok {
			*ptr = x
		}
	case *time.Duration:
		var d time.Duration
		if d, ok = v.(time.Duration); ok {
			*ptr = d
		}
	case *Strategy:
		var s Strategy
		if s, ok = v.(Strategy); ok {
			*ptr = s
		}
	}
	if !ok {
		panic(fmt.Sprintf("resilience: field %s cannot hold %T", path, v))
	}
}

// get returns the value of the field at path of p.
func fieldValue(p *Policy, path string) any {
	f, ok := fieldByPath(path)
	if !ok {
		return nil
	}
	switch ptr := f.ptr(p).(type) {
	case *bool:
		return *ptr
	case *int:
		return *ptr
	case *float64:
		return *ptr
	case *time.Duration:
		return *ptr
	case *Strategy:
		return *ptr
	}
	return nil
}

// Value returns the value of the field at path (see Fields) for display:
// "5", "true", "wait", a number ("2.5", "60") or seconds ("1s", "0.5s",
// "120s"). It returns "" for an unknown path.
func (p Policy) Value(path string) string {
	return formatValue(fieldValue(&p, path))
}

func formatValue(v any) string {
	switch v := v.(type) {
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case time.Duration:
		return formatSeconds(v)
	case Strategy:
		return string(v)
	}
	return ""
}

// seconds formats d as a number of seconds: "1s", "0.5s", "120s".
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// duration converts seconds to a time.Duration, rounded to the nanosecond.
func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}
