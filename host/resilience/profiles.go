package resilience

import (
	"fmt"
	"slices"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// values is a partial policy: field paths (see Fields) to typed values
// (bool, int, float64, time.Duration or Strategy).
type values map[string]any

// globalDefault is the policy every profile starts from; a field a profile
// leaves out keeps this value and reports the source "default".
var globalDefault = values{
	"enabled": true,
	// Long enough for a large page over a slow link, short enough that a
	// hung call is noticed within a minute.
	"timeout": 30 * time.Second,
	// A commit does work that grows with the write (a whole parquet file
	// encoded, millions of rows moved into a table): half an hour, so a
	// large write is not cut off by the per-call timeout meant for pages.
	"commit_timeout": 30 * time.Minute,

	// Three attempts with full-jitter backoff from 1 s doubling to at most
	// 30 s: rides out a short blip without holding a flow for minutes.
	"retry.max_attempts":       3,
	"retry.initial_delay":      time.Second,
	"retry.max_delay":          30 * time.Second,
	"retry.backoff_multiplier": 2.0,
	"retry.jitter":             true,

	// Five consecutive counted failures open the breaker; a minute later
	// probes go through, and two successes in a row close it again.
	"circuit_breaker.enabled":           true,
	"circuit_breaker.failure_threshold": 5,
	"circuit_breaker.recovery_timeout":  60 * time.Second,
	"circuit_breaker.success_threshold": 2,
	"circuit_breaker.shared":            false,

	// No limiter unless a profile or the user knows the target's quota:
	// a guessed limit only slows a connector down. The values are what a
	// bare `rate_limit: {}` block or `rate_limit: true` turns on.
	"rate_limit.enabled":                 false,
	"rate_limit.max_requests_per_minute": 60.0,
	"rate_limit.burst_size":              10,
	"rate_limit.per_host":                false,
	"rate_limit.backpressure_strategy":   StrategyWait,
	"rate_limit.shared":                  false,

	// Every plugin process is restarted when it crashes or hangs;
	// re-resolving credentials is for connectors whose tokens expire.
	"recovery.enable_connection_recovery": true,
	"recovery.enable_credential_refresh":  false,
	"recovery.recovery_check_interval":    30 * time.Second,
	// A plugin that needs more than 5 restarts within 5 minutes is in a
	// crash loop: restarting it again would only hide the fault.
	"recovery.max_restarts":   5,
	"recovery.restart_window": 5 * time.Minute,

	// Retries may be at most 10% of calls over a minute, with 10 retries
	// per minute always allowed so a connector making few calls can still
	// retry. A dead service sent 1,000 calls then sees about 1,100
	// attempts, not 3,000.
	"retry_budget.ratio":       0.1,
	"retry_budget.window":      60 * time.Second,
	"retry_budget.min_retries": 10,
}

// profile is the defaults of one connector type or resilience class.
type profile struct {
	name string
	// values overrides globalDefault.
	values values
}

// The profiles. The numbers for rest, s3, postgres, csv, parquet and memory
// are the starting values (docs/resilience.md explains each);
// gsheets and shopify follow their APIs' published quotas
// (/design/CONNECTORS.md, "Real limits").
var profiles = []profile{
	{name: "rest", values: values{
		// A generic HTTP API: three tries, a breaker after five failures, and
		// a conservative 60 requests a minute per host (most public APIs
		// allow at least that), since we do not know the API's quota.
		"retry.max_attempts":       3,
		"retry.initial_delay":      time.Second,
		"retry.max_delay":          30 * time.Second,
		"retry.backoff_multiplier": 2.0,
		"retry.jitter":             true,

		"circuit_breaker.enabled":           true,
		"circuit_breaker.failure_threshold": 5,
		"circuit_breaker.recovery_timeout":  60 * time.Second,
		"circuit_breaker.success_threshold": 2,
		"timeout":                           30 * time.Second,

		"rate_limit.enabled":                 true,
		"rate_limit.max_requests_per_minute": 60.0,
		"rate_limit.burst_size":              10,
		"rate_limit.per_host":                true,
		"rate_limit.backpressure_strategy":   StrategyWait,
		"rate_limit.shared":                  true,

		"recovery.enable_connection_recovery": true,
		"recovery.enable_credential_refresh":  true,
		"recovery.recovery_check_interval":    30 * time.Second,
	}},
	{name: "s3", values: values{
		// S3 answers bursts with 503 SlowDown (about 3,500 writes and 5,500
		// reads per second per prefix). One call here is one page: up to
		// 8 MiB of rows, a handful of S3 requests (a multipart upload's
		// create, parts and completion; a few range GETs). 3,000 calls a
		// minute (50 a second, some 250 S3 requests a second) stays an
		// order of magnitude under S3's limits while never being what
		// bounds a flow's throughput (a ceiling of 100 a minute capped a
		// flow at about 13 MiB/s); SlowDown answers still pace it as rate
		// hints. Longer max delay and call timeout for large objects.
		"retry.max_attempts":       3,
		"retry.initial_delay":      time.Second,
		"retry.max_delay":          60 * time.Second,
		"retry.backoff_multiplier": 2.0,

		"circuit_breaker.enabled":           true,
		"circuit_breaker.failure_threshold": 3,
		"circuit_breaker.recovery_timeout":  30 * time.Second,
		"timeout":                           60 * time.Second,

		"rate_limit.enabled":                 true,
		"rate_limit.max_requests_per_minute": 3000.0,
		"rate_limit.burst_size":              50,
		"rate_limit.backpressure_strategy":   StrategyWait,
	}},
	{name: "postgres", values: values{
		// A database answers in milliseconds or not at all: retry soon
		// (0.5 s, at most 10 s), open the breaker after three failures, and
		// ping the connection every 15 s. No rate limit: the pool size is
		// the limit. Credentials are not refreshed by default (passwords
		// rarely rotate mid-run).
		"retry.max_attempts":                3,
		"retry.initial_delay":               500 * time.Millisecond,
		"retry.max_delay":                   10 * time.Second,
		"circuit_breaker.enabled":           true,
		"circuit_breaker.failure_threshold": 3,
		"circuit_breaker.recovery_timeout":  30 * time.Second,
		"timeout":                           30 * time.Second,

		"recovery.enable_connection_recovery": true,
		"recovery.enable_credential_refresh":  false,
		"recovery.recovery_check_interval":    15 * time.Second,
	}},
	{name: "gsheets", values: values{
		// Google Sheets API v4 allows 60 read requests per minute per user
		// per project (300 per project); over quota it answers 429
		// RESOURCE_EXHAUSTED and asks for truncated exponential backoff with
		// random jitter capped near 32-64 s. So: 60 a minute with a burst of
		// 1 (a bucket of 10 would allow 70 in the first minute), shared per
		// host because connectors usually share one identity, seven attempts
		// and a 32 s cap: the waits (about 1+2+4+8+16+32 s) outlast the
		// one-minute quota window, so a 429 storm ends in a retry that
		// fits the next window. OAuth tokens expire: refresh credentials.
		"retry.max_attempts":       7,
		"retry.initial_delay":      time.Second,
		"retry.max_delay":          32 * time.Second,
		"retry.backoff_multiplier": 2.0,
		"retry.jitter":             true,

		"circuit_breaker.enabled":           true,
		"circuit_breaker.failure_threshold": 5,
		"circuit_breaker.recovery_timeout":  60 * time.Second,
		"circuit_breaker.success_threshold": 2,
		"timeout":                           60 * time.Second,

		"rate_limit.enabled":                 true,
		"rate_limit.max_requests_per_minute": 60.0,
		"rate_limit.burst_size":              1,
		"rate_limit.per_host":                true,
		"rate_limit.backpressure_strategy":   StrategyWait,
		"rate_limit.shared":                  true,

		"recovery.enable_connection_recovery": true,
		"recovery.enable_credential_refresh":  true,
		"recovery.recovery_check_interval":    30 * time.Second,
	}},
	{name: "shopify", values: values{
		// Shopify limits with leaky buckets whose size and leak rate depend
		// on the plan and the API: REST 40 requests leaking 2/s on standard
		// plans (20/s on Plus), GraphQL cost points (sizes and restore
		// rates vary by plan and API version). The plan's rates are read from responses, not
		// assumed: the plugin reports every response's budget as rate
		// hints (GraphQL throttleStatus, REST X-Shopify-Shop-Api-Call-Limit)
		// and the limiter paces from them before the bucket empties. The
		// token bucket here is only a ceiling: 1,200 a minute (Plus's REST
		// leak rate) with a burst of 40 (the smallest bucket), shared per
		// store. Requests had no timeout in the old tool; they get 30 s.
		"retry.max_attempts":       5,
		"retry.initial_delay":      time.Second,
		"retry.max_delay":          30 * time.Second,
		"retry.backoff_multiplier": 2.0,
		"retry.jitter":             true,

		"circuit_breaker.enabled":           true,
		"circuit_breaker.failure_threshold": 5,
		"circuit_breaker.recovery_timeout":  60 * time.Second,
		"circuit_breaker.success_threshold": 2,
		"timeout":                           30 * time.Second,

		"rate_limit.enabled":                 true,
		"rate_limit.max_requests_per_minute": 1200.0,
		"rate_limit.burst_size":              40,
		"rate_limit.per_host":                true,
		"rate_limit.backpressure_strategy":   StrategyWait,
		"rate_limit.shared":                  true,

		"recovery.enable_connection_recovery": true,
		"recovery.enable_credential_refresh":  true,
		"recovery.recovery_check_interval":    30 * time.Second,
	}},
	{name: "csv", values: fileValues},
	{name: "parquet", values: fileValues},
	{name: "memory", values: noneValues},

	// The class profiles, for connector types without a profile of their
	// own: the type's Spec.ResilienceClass picks one.
	{name: "network", values: values{
		// Like rest, but without a rate limit: we know neither the
		// service nor its quota, and a guessed limit only slows a fast
		// connector down. The plugin's RATE_LIMITED errors (with
		// retry_after) still pace it.
		"circuit_breaker.enabled":             true,
		"rate_limit.enabled":                  false,
		"recovery.enable_connection_recovery": true,
		"recovery.enable_credential_refresh":  true,
	}},
	{name: "file", values: fileValues},
	{name: "none", values: noneValues},
}

// fileValues is the profile of local or mounted files: a quick second try
// for a flaky mount (0.1 s, at most 1 s), no breaker and no rate limit,
// since a file system has neither outages worth failing fast on nor
// quotas. A generous call timeout, since a page of a large file on a slow
// mount can take a while.
var fileValues = values{
	"retry.max_attempts":                  2,
	"retry.initial_delay":                 100 * time.Millisecond,
	"retry.max_delay":                     time.Second,
	"timeout":                             60 * time.Second,
	"circuit_breaker.enabled":             false,
	"rate_limit.enabled":                  false,
	"recovery.enable_connection_recovery": true,
	"recovery.enable_credential_refresh":  false,
}

// noneValues is the profile of in-memory connectors: no retries, no
// breaker, no rate limit, since there is no system behind them to fail or
// to protect. What stays is what the process boundary needs whatever the
// connector does: a per-call deadline, health pings, and restart of a
// plugin that crashes or hangs with the call resumed from its checkpoint.
var noneValues = values{
	"retry.max_attempts":      1,
	"circuit_breaker.enabled": false,
	"rate_limit.enabled":      false,
}

// typeProfiles maps the built-in connector types to their profiles.
var typeProfiles = map[string]string{
	"rest": "rest", "s3": "s3", "postgres": "postgres",
	"gsheets": "gsheets", "google_sheets": "gsheets", "shopify": "shopify",
	"csv": "csv", "parquet": "parquet", "memory": "memory",
}

// ProfileNames lists the profiles: one per built-in connector type (rest,
// s3, postgres, gsheets, shopify, csv, parquet, memory), then one per
// resilience class (network, file, none) for other types.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.name
	}
	return names
}

// BuiltinType reports whether the connector type typ has a profile of its
// own (google_sheets is an alias of gsheets), so that its policy resolves
// without asking its plugin for its resilience class.
func BuiltinType(typ string) bool {
	_, ok := typeProfiles[typ]
	return ok
}

// ProfileName returns the name of the profile of a connector type: the
// type's own for a built-in type (whatever class is given), else the
// profile of class. An empty class means the class is not known: the
// network profile is assumed.
func ProfileName(typ string, class sdk.ResilienceClass) string {
	if p, ok := typeProfiles[typ]; ok {
		return p
	}
	switch class {
	case sdk.ResilienceFile:
		return "file"
	case sdk.ResilienceNone:
		return "none"
	}
	return "network"
}

// Default returns the global default policy: what every field is when
// neither the profile nor the user sets it.
func Default() Policy {
	var p Policy
	for path, v := range globalDefault {
		mustSet(&p, path, v)
	}
	return p
}

// ProfilePolicy returns a profile's policy (the global default with the
// profile's values applied), or false when there is no such profile.
func ProfilePolicy(name string) (Policy, bool) {
	i := slices.IndexFunc(profiles, func(p profile) bool { return p.name == name })
	if i < 0 {
		return Policy{}, false
	}
	p := Default()
	for path, v := range profiles[i].values {
		mustSet(&p, path, v)
	}
	return p, true
}

// lookupProfile returns the profile named name; it must exist.
func lookupProfile(name string) profile {
	for _, p := range profiles {
		if p.name == name {
			return p
		}
	}
	panic(fmt.Sprintf("resilience: no profile %q", name))
}
