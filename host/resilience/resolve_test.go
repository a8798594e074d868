package resilience_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// connector parses a pipeline whose source "s" has the given body (the
// lines under "  s:", indented by four spaces; the first is line 4) and
// returns the source.
func connector(t *testing.T, body string) *config.Connector {
	t.Helper()
	src := "version: 1\nsources:\n  s:\n"
	for line := range strings.SplitSeq(strings.TrimRight(body, "\n"), "\n") {
		src += "    " + line + "\n"
	}
	src += "destinations:\n  d: {type: memory}\nflows:\n  - {from: s, to: d, target: t}\n"
	p, err := config.Parse("p.yaml", []byte(src), nil)
	if err != nil {
		t.Fatalf("parse:\n%s\n%v", src, err)
	}
	return p.Sources["s"]
}

// want is an expected value and source of one field.
type want struct{ value, source string }

func TestResolveTiers(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		class   sdk.ResilienceClass
		profile string
		want    map[string]want
	}{
		{
			name: "tier 1: rest profile", body: "type: rest\nurl: http://x",
			profile: "rest",
			want: map[string]want{
				"enabled":                             {"true", "default"},
				"timeout":                             {"30s", "profile rest"},
				"retry.max_attempts":                  {"3", "profile rest"},
				"retry.initial_delay":                 {"1s", "profile rest"},
				"retry.max_delay":                     {"30s", "profile rest"},
				"retry.backoff_multiplier":            {"2", "profile rest"},
				"retry.jitter":                        {"true", "profile rest"},
				"circuit_breaker.enabled":             {"true", "profile rest"},
				"circuit_breaker.failure_threshold":   {"5", "profile rest"},
				"circuit_breaker.recovery_timeout":    {"60s", "profile rest"},
				"circuit_breaker.success_threshold":   {"2", "profile rest"},
				"rate_limit.enabled":                  {"true", "profile rest"},
				"rate_limit.max_requests_per_minute":  {"60", "profile rest"},
				"rate_limit.burst_size":               {"10", "profile rest"},
				"rate_limit.per_host":                 {"true", "profile rest"},
				"rate_limit.backpressure_strategy":    {"wait", "profile rest"},
				"recovery.enable_connection_recovery": {"true", "profile rest"},
				"recovery.enable_credential_refresh":  {"true", "profile rest"},
				"recovery.recovery_check_interval":    {"30s", "profile rest"},
				"retry_budget.ratio":                  {"0.1", "default"},
				"retry_budget.window":                 {"60s", "default"},
				"retry_budget.min_retries":            {"10", "default"},
			},
		},
		{
			name: "tier 1: resilience true is the profile", body: "type: postgres\nresilience: true",
			profile: "postgres",
			want: map[string]want{
				"retry.initial_delay":                {"0.5s", "profile postgres"},
				"retry.max_delay":                    {"10s", "profile postgres"},
				"retry.backoff_multiplier":           {"2", "default"},
				"circuit_breaker.failure_threshold":  {"3", "profile postgres"},
				"rate_limit.enabled":                 {"false", "default"},
				"recovery.enable_credential_refresh": {"false", "profile postgres"},
				"recovery.recovery_check_interval":   {"15s", "profile postgres"},
			},
		},
		{
			name: "tier 1: google_sheets is gsheets", body: "type: google_sheets",
			profile: "gsheets",
			want: map[string]want{
				"rate_limit.max_requests_per_minute": {"60", "profile gsheets"},
				"rate_limit.burst_size":              {"1", "profile gsheets"},
			},
		},
		{
			name: "tier 1: shopify's leaky bucket", body: "type: shopify",
			profile: "shopify",
			want: map[string]want{
				"rate_limit.max_requests_per_minute": {"1200", "profile shopify"},
				"rate_limit.burst_size":              {"40", "profile shopify"},
				"rate_limit.per_host":                {"true", "profile shopify"},
			},
		},
		{
			name: "tier 1: csv", body: "type: csv\npath: x.csv",
			profile: "csv",
			want: map[string]want{
				"retry.max_attempts":      {"2", "profile csv"},
				"retry.initial_delay":     {"0.1s", "profile csv"},
				"retry.max_delay":         {"1s", "profile csv"},
				"circuit_breaker.enabled": {"false", "profile csv"},
				"rate_limit.enabled":      {"false", "profile csv"},
			},
		},
		{
			name: "tier 1: memory: no retries, but crash recovery", body: "type: memory",
			profile: "memory",
			want: map[string]want{
				"enabled":                             {"true", "default"},
				"retry.max_attempts":                  {"1", "profile memory"},
				"circuit_breaker.enabled":             {"false", "profile memory"},
				"recovery.enable_connection_recovery": {"true", "default"},
				"timeout":                             {"30s", "default"},
			},
		},
		{
			name: "tier 1: third-party type, class file", body: "type: ftp", class: sdk.ResilienceFile,
			profile: "file",
			want:    map[string]want{"retry.max_attempts": {"2", "profile file"}},
		},
		{
			name: "tier 1: third-party type, class none", body: "type: redis", class: sdk.ResilienceNone,
			profile: "none",
			want: map[string]want{
				"retry.max_attempts":                  {"1", "profile none"},
				"recovery.enable_connection_recovery": {"true", "default"},
			},
		},
		{
			name: "tier 1: third-party type, class unknown", body: "type: ftp",
			profile: "network",
			want: map[string]want{
				"rate_limit.enabled":      {"false", "profile network"},
				"circuit_breaker.enabled": {"true", "profile network"},
				"retry.max_attempts":      {"3", "default"},
			},
		},
		{
			name: "tier 1: built-in type ignores the class", body: "type: csv", class: sdk.ResilienceNetwork,
			profile: "csv",
			want:    map[string]want{"retry.max_attempts": {"2", "profile csv"}},
		},
		{
			name: "tier 2: every simple key", body: "type: rest\nresilience:\n  retry_attempts: 5\n  timeout: 60\n  rate_limit: 100",
			profile: "rest",
			want: map[string]want{
				"retry.max_attempts":                 {"5", "simple key retry_attempts"},
				"retry.initial_delay":                {"1s", "profile rest"},
				"timeout":                            {"60s", "simple key timeout"},
				"rate_limit.max_requests_per_minute": {"100", "simple key rate_limit"},
				"rate_limit.enabled":                 {"true", "profile rest"},
				"rate_limit.burst_size":              {"10", "profile rest"},
			},
		},
		{
			name: "tier 2: rate_limit turns the limiter on", body: "type: postgres\nresilience: {rate_limit: 30.5}",
			profile: "postgres",
			want: map[string]want{
				"rate_limit.enabled":                 {"true", "simple key rate_limit"},
				"rate_limit.max_requests_per_minute": {"30.5", "simple key rate_limit"},
			},
		},
		{
			name: "tier 2: settings on memory's policy", body: "type: memory\nresilience: {retry_attempts: 4}",
			profile: "memory",
			want: map[string]want{
				"enabled":                 {"true", "default"},
				"retry.max_attempts":      {"4", "simple key retry_attempts"},
				"circuit_breaker.enabled": {"false", "profile memory"},
			},
		},
		{
			name: "tier 3: every field",
			body: "type: rest\nresilience:\n" +
				"  retry: {max_attempts: 5, initial_delay: 2.0, max_delay: 30, backoff_multiplier: 2.5, jitter: false}\n" +
				"  circuit_breaker: {failure_threshold: 3, recovery_timeout: 120.0, success_threshold: 1, timeout: 45}\n" +
				"  rate_limit: {max_requests_per_minute: 120, burst_size: 20, per_host: false, backpressure_strategy: fail}\n" +
				"  recovery: {enable_connection_recovery: false, enable_credential_refresh: false, recovery_check_interval: 5}",
			profile: "rest",
			want: map[string]want{
				"enabled":                             {"true", "default"},
				"timeout":                             {"45s", "full block circuit_breaker.timeout"},
				"retry.max_attempts":                  {"5", "full block"},
				"retry.initial_delay":                 {"2s", "full block"},
				"retry.max_delay":                     {"30s", "full block"},
				"retry.backoff_multiplier":            {"2.5", "full block"},
				"retry.jitter":                        {"false", "full block"},
				"circuit_breaker.enabled":             {"true", "profile rest"},
				"circuit_breaker.failure_threshold":   {"3", "full block"},
				"circuit_breaker.recovery_timeout":    {"120s", "full block"},
				"circuit_breaker.success_threshold":   {"1", "full block"},
				"rate_limit.enabled":                  {"true", "profile rest"},
				"rate_limit.max_requests_per_minute":  {"120", "full block"},
				"rate_limit.burst_size":               {"20", "full block"},
				"rate_limit.per_host":                 {"false", "full block"},
				"rate_limit.backpressure_strategy":    {"fail", "full block"},
				"recovery.enable_connection_recovery": {"false", "full block"},
				"recovery.enable_credential_refresh":  {"false", "full block"},
				"recovery.recovery_check_interval":    {"5s", "full block"},
			},
		},
		{
			name: "tier 3: a partial block keeps the profile's other fields", body: "type: s3\nresilience:\n  retry: {max_attempts: 6}",
			profile: "s3",
			want: map[string]want{
				"retry.max_attempts":  {"6", "full block"},
				"retry.initial_delay": {"1s", "profile s3"},
				"retry.max_delay":     {"60s", "profile s3"},
				"retry.jitter":        {"true", "default"},
			},
		},
		{
			name: "tier 3: a block turns a policy on that the profile has off", body: "type: csv\nresilience:\n  circuit_breaker: {failure_threshold: 2}\n  rate_limit: {}",
			profile: "csv",
			want: map[string]want{
				"circuit_breaker.enabled":            {"true", "full block circuit_breaker"},
				"circuit_breaker.failure_threshold":  {"2", "full block"},
				"circuit_breaker.recovery_timeout":   {"60s", "default"},
				"rate_limit.enabled":                 {"true", "full block rate_limit"},
				"rate_limit.max_requests_per_minute": {"60", "default"},
			},
		},
		{
			name: "tier 3: true turns a policy on with the profile's values", body: "type: parquet\nresilience: {circuit_breaker: true}",
			profile: "parquet",
			want: map[string]want{
				"circuit_breaker.enabled":           {"true", "full block circuit_breaker"},
				"circuit_breaker.failure_threshold": {"5", "default"},
			},
		},
		{
			name: "tier 3: false turns one policy off", body: "type: rest\nresilience:\n  circuit_breaker: false\n  rate_limit: false\n  retry: false\n  recovery: false",
			profile: "rest",
			want: map[string]want{
				"enabled":                             {"true", "default"},
				"timeout":                             {"30s", "profile rest"},
				"circuit_breaker.enabled":             {"false", "off circuit_breaker"},
				"rate_limit.enabled":                  {"false", "off rate_limit"},
				"retry.max_attempts":                  {"1", "off retry"},
				"recovery.enable_connection_recovery": {"false", "off recovery"},
				"recovery.enable_credential_refresh":  {"false", "off recovery"},
			},
		},
		{
			name: "tier 3: enabled false inside a block", body: "type: rest\nresilience:\n  circuit_breaker: {enabled: false, failure_threshold: 9}\n  retry: {enabled: false}",
			profile: "rest",
			want: map[string]want{
				"circuit_breaker.enabled":           {"false", "off circuit_breaker.enabled"},
				"circuit_breaker.failure_threshold": {"9", "full block"},
				"retry.max_attempts":                {"1", "off retry.enabled"},
			},
		},
		{
			name: "tier 2 and tier 3 together on different fields", body: "type: rest\nresilience:\n  retry_attempts: 4\n  timeout: 10\n  circuit_breaker: {failure_threshold: 2}\n  rate_limit: {burst_size: 3}",
			profile: "rest",
			want: map[string]want{
				"retry.max_attempts":                 {"4", "simple key retry_attempts"},
				"timeout":                            {"10s", "simple key timeout"},
				"circuit_breaker.failure_threshold":  {"2", "full block"},
				"rate_limit.burst_size":              {"3", "full block"},
				"rate_limit.max_requests_per_minute": {"60", "profile rest"},
			},
		},
		{
			name: "off: resilience false", body: "type: rest\nresilience: false",
			profile: "rest",
			want:    map[string]want{"enabled": {"false", "off"}, "retry.max_attempts": {"3", "profile rest"}},
		},
		{
			name: "off: enabled false", body: "type: rest\nresilience: {enabled: false, retry_attempts: 2}",
			profile: "rest",
			want:    map[string]want{"enabled": {"false", "off"}, "retry.max_attempts": {"2", "simple key retry_attempts"}},
		},
		{
			name: "on: enabled true for memory", body: "type: memory\nresilience: {enabled: true}",
			profile: "memory",
			want:    map[string]want{"enabled": {"true", "full block"}, "rate_limit.enabled": {"false", "profile memory"}},
		},
		{
			name: "null values are left out", body: "type: rest\nresilience:\n  retry_attempts:\n  retry: {max_attempts: ~}",
			profile: "rest",
			want:    map[string]want{"retry.max_attempts": {"3", "profile rest"}},
		},
		{
			name: "anchors and merge keys", body: "type: rest\nresilience:\n  retry: &r {max_attempts: 7}\n  circuit_breaker: {<<: {failure_threshold: 4, success_threshold: 3}, success_threshold: 1}",
			profile: "rest",
			want: map[string]want{
				"retry.max_attempts":                {"7", "full block"},
				"circuit_breaker.failure_threshold": {"4", "full block"},
				"circuit_breaker.success_threshold": {"1", "full block"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, warns, err := resilience.Resolve(specArgs(connector(t, tt.body), tt.class))
			if err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
			if len(warns) > 0 {
				t.Fatalf("unexpected warnings: %v", warns)
			}
			if r.Profile != tt.profile {
				t.Errorf("profile %q, want %q", r.Profile, tt.profile)
			}
			for path, w := range tt.want {
				if got := r.Value(path); got != w.value {
					t.Errorf("%s = %s, want %s", path, got, w.value)
				}
				if got := r.Sources[path].String(); got != w.source {
					t.Errorf("%s source %q, want %q", path, got, w.source)
				}
			}
			for _, f := range resilience.Fields() {
				if _, ok := r.Sources[f]; !ok {
					t.Errorf("no source for %s", f)
				}
			}
		})
	}
}

func TestResolvePositions(t *testing.T) {
	c := connector(t, "type: rest\nresilience:\n  retry_attempts: 5\n  circuit_breaker: {timeout: 12}")
	r, _, err := resilience.Resolve(c, specFor(c, ""))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"retry.max_attempts":  "p.yaml:6:23",
		"timeout":             "p.yaml:7:34",
		"retry.initial_delay": "",
	} {
		if got := r.Sources[path].Pos.String(); got != want {
			t.Errorf("%s at %q, want %q", path, got, want)
		}
	}
	if r.CallTimeout != 12*time.Second || r.Retry.MaxAttempts != 5 {
		t.Errorf("policy %+v", r.Policy)
	}
}

func TestResolveInvalid(t *testing.T) {
	const base = "p.yaml:6:"
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"zero attempts", "type: rest\nresilience:\n  retry_attempts: 0",
			[]string{"p.yaml:6:23: sources.s.resilience.retry_attempts: 0 is not allowed; use a whole number from 1 to 100 (1 means no retry)"}},
		{"negative attempts", "type: rest\nresilience:\n  retry: {max_attempts: -2}",
			[]string{"p.yaml:6:29: sources.s.resilience.retry.max_attempts: -2 is not allowed; use a whole number from 1 to 100 (1 means no retry)"}},
		{"too many attempts", "type: rest\nresilience:\n  retry_attempts: 101",
			[]string{base + "23: sources.s.resilience.retry_attempts: 101 is not allowed; use a whole number from 1 to 100 (1 means no retry)"}},
		{"fractional attempts", "type: rest\nresilience:\n  retry_attempts: 2.5",
			[]string{base + "23: sources.s.resilience.retry_attempts: 2.5 is not allowed; use a whole number from 1 to 100 (1 means no retry)"}},
		{"attempts as a string", "type: rest\nresilience:\n  retry_attempts: three",
			[]string{base + "23: sources.s.resilience.retry_attempts: must be a whole number from 1 to 100 (1 means no retry), not a string"}},
		{"an environment variable", "type: rest\nresilience:\n  retry_attempts: ${N}",
			[]string{base + "23: sources.s.resilience.retry_attempts: must be a whole number from 1 to 100 (1 means no retry), not a string (environment variables are not expanded under resilience)"}},
		{"multiplier below 1", "type: rest\nresilience:\n  retry: {backoff_multiplier: 0.5}",
			[]string{base + "35: sources.s.resilience.retry.backoff_multiplier: 0.5 is not allowed; use a number from 1 to 100 (1 keeps every delay the same)"}},
		{"max delay below initial delay", "type: rest\nresilience:\n  retry: {initial_delay: 5, max_delay: 2}",
			[]string{base + "44: sources.s.resilience.retry.max_delay: max_delay 2s is below initial_delay 5s (full block); max_delay must be at least initial_delay"}},
		{"max delay below the profile's initial delay", "type: rest\nresilience:\n  retry: {max_delay: 0.5}",
			[]string{base + "26: sources.s.resilience.retry.max_delay: max_delay 0.5s is below initial_delay 1s (profile rest); max_delay must be at least initial_delay"}},
		{"initial delay above the profile's max delay", "type: csv\nresilience:\n  retry: {initial_delay: 2}",
			[]string{base + "30: sources.s.resilience.retry.initial_delay: max_delay 1s is below initial_delay 2s (full block); max_delay must be at least initial_delay"}},
		{"negative delay", "type: rest\nresilience:\n  retry: {initial_delay: -1}",
			[]string{base + "30: sources.s.resilience.retry.initial_delay: -1 is not allowed; use a number of seconds from 0 to 86400"}},
		{"zero timeout", "type: rest\nresilience:\n  timeout: 0",
			[]string{base + "16: sources.s.resilience.timeout: 0 is not allowed; use a number of seconds above 0, at most 86400"}},
		{"negative recovery timeout", "type: rest\nresilience:\n  circuit_breaker: {recovery_timeout: -5}",
			[]string{base + "43: sources.s.resilience.circuit_breaker.recovery_timeout: -5 is not allowed; use a number of seconds above 0, at most 86400"}},
		{"timeout too long", "type: rest\nresilience:\n  circuit_breaker: {timeout: 1e9}",
			[]string{base + "34: sources.s.resilience.circuit_breaker.timeout: 1e9 is not allowed; use a number of seconds above 0, at most 86400"}},
		{"infinite timeout", "type: rest\nresilience:\n  timeout: .inf",
			[]string{base + "16: sources.s.resilience.timeout: must be a number of seconds above 0, at most 86400, not .inf"}},
		{"zero failure threshold", "type: rest\nresilience:\n  circuit_breaker: {failure_threshold: 0}",
			[]string{base + "44: sources.s.resilience.circuit_breaker.failure_threshold: 0 is not allowed; use a whole number from 1 to 10000"}},
		{"zero success threshold", "type: rest\nresilience:\n  circuit_breaker: {success_threshold: 0}",
			[]string{base + "44: sources.s.resilience.circuit_breaker.success_threshold: 0 is not allowed; use a whole number from 1 to 10000"}},
		{"burst 0", "type: rest\nresilience:\n  rate_limit: {burst_size: 0}",
			[]string{base + "32: sources.s.resilience.rate_limit.burst_size: 0 is not allowed; use a whole number from 1 to 1000000"}},
		{"zero rate", "type: rest\nresilience:\n  rate_limit: 0",
			[]string{base + "19: sources.s.resilience.rate_limit: 0 is not allowed; use a number of requests per minute above 0"}},
		{"negative rate in a block", "type: rest\nresilience:\n  rate_limit: {max_requests_per_minute: -1}",
			[]string{base + "45: sources.s.resilience.rate_limit.max_requests_per_minute: -1 is not allowed; use a number of requests per minute above 0"}},
		{"unknown strategy", "type: rest\nresilience:\n  rate_limit: {backpressure_strategy: drop}",
			[]string{base + "43: sources.s.resilience.rate_limit.backpressure_strategy: \"drop\" is not allowed; use wait (block until a request is allowed) or fail (fail the call at once as rate limited)"}},
		{"strategy not a string", "type: rest\nresilience:\n  rate_limit: {backpressure_strategy: 1}",
			[]string{base + "43: sources.s.resilience.rate_limit.backpressure_strategy: must be wait or fail, not a number"}},
		{"unknown top-level key", "type: rest\nresilience:\n  retries: 3",
			[]string{base + "7: sources.s.resilience.retries: unknown key; allowed keys are enabled, retry_attempts, timeout, commit_timeout, rate_limit, retry, circuit_breaker, recovery"}},
		{"unknown key in retry", "type: rest\nresilience:\n  retry: {attempts: 3}",
			[]string{base + "15: sources.s.resilience.retry.attempts: unknown key; allowed keys are enabled, max_attempts, initial_delay, max_delay, backoff_multiplier, jitter"}},
		{"unknown key in circuit_breaker", "type: rest\nresilience:\n  circuit_breaker: {failure_treshold: 3}",
			[]string{base + "25: sources.s.resilience.circuit_breaker.failure_treshold: unknown key (did you mean failure_threshold?); allowed keys are enabled, failure_threshold, recovery_timeout, success_threshold, timeout, shared"}},
		{"unknown key in rate_limit", "type: rest\nresilience:\n  rate_limit: {strategy: wait}",
			[]string{base + "20: sources.s.resilience.rate_limit.strategy: unknown key; allowed keys are enabled, max_requests_per_minute, burst_size, per_host, backpressure_strategy, shared"}},
		{"unknown key in recovery", "type: rest\nresilience:\n  recovery: {interval: 3}",
			[]string{base + "18: sources.s.resilience.recovery.interval: unknown key; allowed keys are enabled, enable_connection_recovery, enable_credential_refresh, recovery_check_interval, max_restarts, restart_window"}},
		{"jitter not a boolean", "type: rest\nresilience:\n  retry: {jitter: full}",
			[]string{base + "23: sources.s.resilience.retry.jitter: must be true or false, not a string"}},
		{"enabled not a boolean", "type: rest\nresilience:\n  enabled: 1",
			[]string{base + "16: sources.s.resilience.enabled: must be true or false, not a number"}},
		{"block not a mapping", "type: rest\nresilience:\n  retry: 3",
			[]string{base + "14: sources.s.resilience.retry: must be a mapping of retry settings, true or false, not a number"}},
		{"rate_limit a string", "type: rest\nresilience:\n  rate_limit: fast",
			[]string{base + "19: sources.s.resilience.rate_limit: must be a number of requests per minute, a mapping of rate-limit settings, true or false, not a string"}},
		{"circuit_breaker a list", "type: rest\nresilience:\n  circuit_breaker: [1]",
			[]string{base + "24: sources.s.resilience.circuit_breaker: must be a mapping of circuit-breaker settings, true or false, not a list"}},
		{"retry_attempts with retry", "type: rest\nresilience:\n  retry_attempts: 3\n  retry: {jitter: false}",
			[]string{base + "7: sources.s.resilience.retry_attempts: cannot be used together with the retry block (line 7); set max_attempts inside retry instead"}},
		{"retry_attempts with retry false", "type: rest\nresilience:\n  retry_attempts: 3\n  retry: false",
			[]string{base + "7: sources.s.resilience.retry_attempts: cannot be used together with the retry block (line 7); set max_attempts inside retry instead"}},
		{"timeout with circuit_breaker.timeout", "type: rest\nresilience:\n  timeout: 3\n  circuit_breaker: {timeout: 4}",
			[]string{base + "7: sources.s.resilience.timeout: cannot be used together with circuit_breaker.timeout (line 7), which sets the same per-call timeout; keep one of them"}},
		{"duplicate key", "type: rest\nresilience:\n  timeout: 3\n  timeout: 4",
			[]string{"p.yaml:7:7: sources.s.resilience: duplicate key \"timeout\" (first at line 6)"}},
		{"every problem at once", "type: rest\nresilience:\n  retry: {max_attempts: 0, backoff_multiplier: 0}\n  rate_limit: {burst_size: 0, backpressure_strategy: x}\n  colour: red",
			[]string{
				base + "29: sources.s.resilience.retry.max_attempts: 0 is not allowed; use a whole number from 1 to 100 (1 means no retry)",
				base + "52: sources.s.resilience.retry.backoff_multiplier: 0 is not allowed; use a number from 1 to 100 (1 keeps every delay the same)",
				"p.yaml:7:32: sources.s.resilience.rate_limit.burst_size: 0 is not allowed; use a whole number from 1 to 1000000",
				"p.yaml:7:58: sources.s.resilience.rate_limit.backpressure_strategy: \"x\" is not allowed; use wait (block until a request is allowed) or fail (fail the call at once as rate limited)",
				"p.yaml:8:7: sources.s.resilience.colour: unknown key; allowed keys are enabled, retry_attempts, timeout, commit_timeout, rate_limit, retry, circuit_breaker, recovery",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := resilience.Resolve(specArgs(connector(t, tt.body), ""))
			var list config.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("want a config.ErrorList, got %v", err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestResolveLegacyKeys(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		consumed []string
		warning  string
		want     map[string]want
	}{
		{
			name:     "every old key maps with one warning",
			body:     "type: rest\nurl: http://x\ntimeout: 60\nmax_retries: 5\nretry_delay: 2",
			consumed: []string{"timeout", "max_retries", "retry_delay"},
			warning: "p.yaml:6:5: sources.s: timeout, max_retries and retry_delay are deprecated; the host applies them as this resilience: setting, which you can write instead:\n" +
				"  resilience:\n    timeout: 60\n    retry: {max_attempts: 6, initial_delay: 2}",
			want: map[string]want{
				"timeout":             {"60s", "legacy key timeout"},
				"retry.max_attempts":  {"6", "legacy key max_retries"},
				"retry.initial_delay": {"2s", "legacy key retry_delay"},
				"retry.max_delay":     {"30s", "profile rest"},
			},
		},
		{
			name:     "max_retries alone is retry_attempts",
			body:     "type: shopify\nmax_retries: 0",
			consumed: []string{"max_retries"},
			warning: "p.yaml:5:5: sources.s: max_retries is deprecated; the host applies it as this resilience: setting, which you can write instead:\n" +
				"  resilience:\n    retry_attempts: 1",
			want: map[string]want{"retry.max_attempts": {"1", "legacy key max_retries"}},
		},
		{
			name:     "a long retry_delay raises max_delay",
			body:     "type: rest\nretry_delay: \"45\"",
			consumed: []string{"retry_delay"},
			warning: "p.yaml:5:5: sources.s: retry_delay is deprecated; the host applies it as this resilience: setting, which you can write instead:\n" +
				"  resilience:\n    retry: {initial_delay: 45, max_delay: 45}",
			want: map[string]want{
				"retry.initial_delay": {"45s", "legacy key retry_delay"},
				"retry.max_delay":     {"45s", "legacy key retry_delay"},
			},
		},
		{
			name:     "resilience wins",
			body:     "type: rest\ntimeout: 10\nresilience:\n  retry_attempts: 2",
			consumed: []string{"timeout"},
			warning: "p.yaml:5:5: sources.s: timeout is deprecated and ignored: this connector also sets resilience:, which wins; remove it, or move it into resilience: as:\n" +
				"  resilience:\n    timeout: 10",
			want: map[string]want{
				"timeout":            {"30s", "profile rest"},
				"retry.max_attempts": {"2", "simple key retry_attempts"},
			},
		},
		{
			name:     "resilience false wins",
			body:     "type: rest\nmax_retries: 3\nresilience: false",
			consumed: []string{"max_retries"},
			warning: "p.yaml:5:5: sources.s: max_retries is deprecated and ignored: this connector also sets resilience:, which wins; remove it, or move it into resilience: as:\n" +
				"  resilience:\n    retry_attempts: 4",
			want: map[string]want{"enabled": {"false", "off"}, "retry.max_attempts": {"3", "profile rest"}},
		},
		{
			name:     "resilience true does not",
			body:     "type: rest\nmax_retries: 3\nresilience: true",
			consumed: []string{"max_retries"},
			warning: "p.yaml:5:5: sources.s: max_retries is deprecated; the host applies it as this resilience: setting, which you can write instead:\n" +
				"  resilience:\n    retry_attempts: 4",
			want: map[string]want{"retry.max_attempts": {"4", "legacy key max_retries"}},
		},
		{
			name: "other types keep their own timeout key",
			body: "type: postgres\ntimeout: 10",
			want: map[string]want{"timeout": {"30s", "profile postgres"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connector(t, tt.body)
			r, warns, err := resilience.Resolve(c, specFor(c, ""))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(r.Consumed, ",") != strings.Join(tt.consumed, ",") {
				t.Errorf("consumed %v, want %v", r.Consumed, tt.consumed)
			}
			var got []string
			for _, w := range warns {
				got = append(got, w.String())
			}
			wantWarns := []string{}
			if tt.warning != "" {
				wantWarns = []string{tt.warning}
			}
			if strings.Join(got, "\n--\n") != strings.Join(wantWarns, "\n--\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n--\n"), tt.warning)
			}
			for path, w := range tt.want {
				if g := r.Value(path); g != w.value {
					t.Errorf("%s = %s, want %s", path, g, w.value)
				}
				if g := r.Sources[path].String(); g != w.source {
					t.Errorf("%s source %q, want %q", path, g, w.source)
				}
			}
			stripped := r.Strip(c.Config)
			for _, k := range tt.consumed {
				if _, ok := stripped[k]; ok {
					t.Errorf("Strip left %s", k)
				}
				if _, ok := c.Config[k]; !ok {
					t.Errorf("Strip changed the connector's Config (%s gone)", k)
				}
			}
		})
	}
}

func TestResolveLegacyInvalid(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"zero timeout", "type: rest\ntimeout: 0",
			"p.yaml:5:14: sources.s.timeout: must be a number of seconds above 0, at most 86400 (this deprecated key sets the host's retry policy)"},
		{"negative retries", "type: rest\nmax_retries: -1",
			"p.yaml:5:18: sources.s.max_retries: must be a whole number of retries after the first try, from 0 to 99 (this deprecated key sets the host's retry policy)"},
		{"delay not a number", "type: shopify\nretry_delay: soon",
			"p.yaml:5:18: sources.s.retry_delay: must be a number of seconds from 0 to 86400 (this deprecated key sets the host's retry policy)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := resilience.Resolve(specArgs(connector(t, tt.body), ""))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

// TestProfiles checks every class profile and the built-in plugins'
// declared defaults (as copied into builtinSpecs) against the issue's
// numbers and the rules users' settings must follow.
func TestProfiles(t *testing.T) {
	get := func(name string) resilience.Policy {
		t.Helper()
		if p, ok := resilience.ProfilePolicy(name); ok {
			return p
		}
		c := connector(t, "type: "+name)
		r, _, err := resilience.Resolve(c, specFor(c, ""))
		if err != nil || r.Profile != name {
			t.Fatalf("%s: profile %q, %v", name, r.Profile, err)
		}
		return r.Policy
	}
	names := resilience.ProfileNames()
	if strings.Join(names, " ") != "network file none" {
		t.Errorf("class profiles %v", names)
	}
	for name := range builtinSpecs {
		names = append(names, name)
	}
	for _, name := range names {
		p := get(name)
		if p.Retry.MaxAttempts < 1 || p.Retry.MaxDelay < p.Retry.InitialDelay || p.Retry.Multiplier < 1 ||
			p.RateLimit.Burst < 1 || p.RateLimit.PerMinute <= 0 || p.Breaker.FailureThreshold < 1 ||
			p.Breaker.SuccessThreshold < 1 || p.CallTimeout <= 0 || p.Budget.Ratio <= 0 {
			t.Errorf("profile %s breaks a rule: %+v", name, p)
		}
	}
	rest := get("rest")
	if rest.Retry != (resilience.Retry{MaxAttempts: 3, InitialDelay: time.Second, MaxDelay: 30 * time.Second, Multiplier: 2, Jitter: true}) ||
		rest.Breaker != (resilience.Breaker{Enabled: true, FailureThreshold: 5, RecoveryTimeout: time.Minute, SuccessThreshold: 2}) ||
		rest.CallTimeout != 30*time.Second ||
		rest.RateLimit != (resilience.RateLimit{Enabled: true, PerMinute: 60, Burst: 10, PerHost: true, Strategy: resilience.StrategyWait, Shared: true}) ||
		rest.Recovery != (resilience.Recovery{ConnectionRecovery: true, CredentialRefresh: true, CheckInterval: 30 * time.Second, MaxRestarts: 5, RestartWindow: 5 * time.Minute}) {
		t.Errorf("rest: %+v", rest)
	}
	s3 := get("s3")
	if s3.Retry.MaxAttempts != 3 || s3.Retry.InitialDelay != time.Second || s3.Retry.MaxDelay != time.Minute || s3.Retry.Multiplier != 2 ||
		s3.Breaker.FailureThreshold != 3 || s3.Breaker.RecoveryTimeout != 30*time.Second || s3.CallTimeout != time.Minute ||
		s3.RateLimit != (resilience.RateLimit{Enabled: true, PerMinute: 3000, Burst: 50, Strategy: resilience.StrategyWait}) {
		t.Errorf("s3: %+v", s3)
	}
	pg := get("postgres")
	if pg.Retry.MaxAttempts != 3 || pg.Retry.InitialDelay != 500*time.Millisecond || pg.Retry.MaxDelay != 10*time.Second ||
		pg.Breaker.FailureThreshold != 3 || pg.Breaker.RecoveryTimeout != 30*time.Second || pg.CallTimeout != 30*time.Second ||
		pg.Recovery != (resilience.Recovery{ConnectionRecovery: true, CredentialRefresh: false, CheckInterval: 15 * time.Second, MaxRestarts: 5, RestartWindow: 5 * time.Minute}) {
		t.Errorf("postgres: %+v", pg)
	}
	for _, name := range []string{"csv", "parquet", "file"} {
		f := get(name)
		if f.Retry.MaxAttempts != 2 || f.Retry.InitialDelay != 100*time.Millisecond || f.Retry.MaxDelay != time.Second ||
			f.Breaker.Enabled || f.RateLimit.Enabled || !f.Enabled {
			t.Errorf("%s: %+v", name, f)
		}
	}
	for _, name := range []string{"memory", "none"} {
		// No retries, breaker or limiter; crash recovery and a per-call
		// deadline, as for every plugin.
		if p := get(name); !p.Enabled || p.Retry.MaxAttempts != 1 || p.Breaker.Enabled || p.RateLimit.Enabled ||
			!p.Recovery.ConnectionRecovery || p.CallTimeout <= 0 || p.Recovery.CheckInterval <= 0 {
			t.Errorf("%s: %+v", name, p)
		}
	}
	if g := get("gsheets"); g.RateLimit.PerMinute != 60 || !g.RateLimit.Enabled {
		t.Errorf("gsheets: %+v", g.RateLimit)
	}
	if s := get("shopify"); s.RateLimit.PerMinute != 1200 || s.RateLimit.Burst != 40 {
		t.Errorf("shopify: %+v", s.RateLimit)
	}
	if b := resilience.Default().Budget; b != (resilience.Budget{Ratio: 0.1, Window: time.Minute, MinRetries: 10}) {
		t.Errorf("budget: %+v", b)
	}
	if _, ok := resilience.ProfilePolicy("oracle"); ok {
		t.Error("a profile for oracle")
	}
}

func TestProfileName(t *testing.T) {
	tests := []struct {
		spec *sdk.Spec
		want string
	}{
		{nil, "network"},
		{&sdk.Spec{Name: "ftp"}, "network"},
		{&sdk.Spec{Name: "ftp", ResilienceClass: sdk.ResilienceFile}, "file"},
		{&sdk.Spec{Name: "ftp", ResilienceClass: sdk.ResilienceNone}, "none"},
		{&sdk.Spec{Name: "acme", ResilienceClass: sdk.ResilienceNone, Resilience: map[string]any{"timeout": 5}}, "acme"},
		{&sdk.Spec{ResilienceClass: sdk.ResilienceNone, Resilience: map[string]any{"timeout": 5}}, "typ"},
	}
	for _, tt := range tests {
		if got := resilience.ProfileName("typ", tt.spec); got != tt.want {
			t.Errorf("ProfileName(typ, %+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

// TestSpecDefaults: a plugin that declares its own defaults gets them,
// whoever built it; fields it leaves out keep the global defaults (not
// its class's); a user's settings still win.
func TestSpecDefaults(t *testing.T) {
	spec := &sdk.Spec{Name: "acme", ResilienceClass: sdk.ResilienceFile, Resilience: map[string]any{
		"retry.max_attempts": 9, "retry.initial_delay": 0.25, "rate_limit.enabled": true,
		"rate_limit.max_requests_per_minute": 12, "rate_limit.backpressure_strategy": "fail", "timeout": int64(45),
	}}
	c := connector(t, "type: acme\nresilience: {retry: {max_delay: 5}}")
	r, warns, err := resilience.Resolve(c, spec)
	if err != nil || len(warns) > 0 {
		t.Fatal(err, warns)
	}
	if r.Profile != "acme" || r.ClassAssumed {
		t.Errorf("profile %q, assumed %v", r.Profile, r.ClassAssumed)
	}
	for path, w := range map[string]want{
		"retry.max_attempts":                 {"9", "profile acme"},
		"retry.initial_delay":                {"0.25s", "profile acme"},
		"retry.max_delay":                    {"5s", "full block"},
		"timeout":                            {"45s", "profile acme"},
		"rate_limit.enabled":                 {"true", "profile acme"},
		"rate_limit.max_requests_per_minute": {"12", "profile acme"},
		"rate_limit.backpressure_strategy":   {"fail", "profile acme"},
		// Not declared: the global default, not the file class's
		// (which turns the breaker off).
		"circuit_breaker.enabled": {"true", "default"},
	} {
		if got, src := r.Value(path), r.Sources[path].String(); got != w.value || src != w.source {
			t.Errorf("%s = %s (%s), want %s (%s)", path, got, src, w.value, w.source)
		}
	}
}

// TestOldPluginGetsClassDefaults: a plugin that declares no defaults (an
// old one, or one content with its class) gets its class profile; an
// unknown Spec assumes network.
func TestOldPluginGetsClassDefaults(t *testing.T) {
	c := connector(t, "type: ftp\ntimeout: 3\nmax_retries: 2")
	for _, tt := range []struct {
		spec    *sdk.Spec
		profile string
		assumed bool
	}{
		{&sdk.Spec{Name: "ftp", ResilienceClass: sdk.ResilienceFile}, "file", false},
		{&sdk.Spec{Name: "ftp"}, "network", false},
		{nil, "network", true},
	} {
		r, warns, err := resilience.Resolve(c, tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := resilience.ProfilePolicy(tt.profile)
		if r.Profile != tt.profile || r.ClassAssumed != tt.assumed || r.Policy != want {
			t.Errorf("%+v: profile %q assumed %v policy %+v", tt.spec, r.Profile, r.ClassAssumed, r.Policy)
		}
		if src := r.Sources["circuit_breaker.enabled"].String(); src != "profile "+tt.profile {
			t.Errorf("%+v: circuit_breaker.enabled from %s", tt.spec, src)
		}
		// Its own timeout and max_retries keys are its own: the host
		// takes old retry keys only from a plugin that asks.
		if len(r.Consumed) > 0 || len(warns) > 0 {
			t.Errorf("%+v: consumed %v, warnings %v", tt.spec, r.Consumed, warns)
		}
	}
	spec := &sdk.Spec{Name: "ftp", LegacyRetryKeys: true}
	r, warns, err := resilience.Resolve(c, spec)
	if err != nil || strings.Join(r.Consumed, ",") != "timeout,max_retries" || len(warns) != 1 || r.Retry.MaxAttempts != 3 {
		t.Errorf("legacy keys asked for: consumed %v, warnings %v, attempts %d, %v", r.Consumed, warns, r.Retry.MaxAttempts, err)
	}
}

// TestInvalidSpecDefaults: a plugin's bad defaults are refused with every
// problem, naming the plugin, the field and what is allowed; it is the
// plugin's fault, not a config.ErrorList of the pipeline file.
func TestInvalidSpecDefaults(t *testing.T) {
	spec := &sdk.Spec{Name: "acme", Resilience: map[string]any{
		"retry.max_attempt": 3, "retry.max_attempts": 0, "timeout": "30s", "rate_limit.burst_size": 2.5,
		"rate_limit.backpressure_strategy": "drop", "retry.jitter": 1,
	}}
	_, _, err := resilience.Resolve(connector(t, "type: acme"), spec)
	var list config.ErrorList
	if err == nil || errors.As(err, &list) {
		t.Fatalf("got %v", err)
	}
	for _, part := range []string{
		"connector type acme: its plugin's Spec declares invalid resilience defaults",
		"rate_limit.backpressure_strategy: drop is not allowed; use wait or fail",
		"rate_limit.burst_size: 2.5 is not allowed; use a whole number from 1 to 1000000",
		"retry.jitter: 1 is not allowed; use true or false",
		"retry.max_attempt: unknown field (did you mean retry.max_attempts?); the fields are enabled, timeout,",
		"retry.max_attempts: 0 is not allowed; use a whole number from 1 to 100",
		"timeout: 30s is not allowed; use a number of seconds above 0, at most 86400",
	} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error lacks %q:\n%v", part, err)
		}
	}
}
