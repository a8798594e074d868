package resilience

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// values is a partial policy: field paths (see Fields) to typed values
// (bool, int, float64, time.Duration or Strategy).
type values map[string]any

// globalDefault is the policy every profile starts from (a class profile
// or a connector's own defaults from its Spec); a field a profile leaves
// out keeps this value and reports the source "default".
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

// profile is the defaults of one resilience class.
type profile struct {
	name string
	// values overrides globalDefault.
	values values
}

// The class profiles, for connectors whose Spec declares no resilience
// defaults of their own (Spec.Resilience): the Spec's ResilienceClass
// picks one. A connector that knows its system's limits declares them in
// its Spec instead (docs/resilience.md lists the built-in connectors').
var profiles = []profile{
	{name: "network", values: values{
		// A remote service whose quota we do not know: retries and a
		// breaker, but no rate limit, since a guessed limit only slows a
		// fast connector down. The plugin's RATE_LIMITED errors (with
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

// ProfileNames lists the class profiles: network, file and none.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.name
	}
	return names
}

// classProfile returns the name of the profile of class; an empty class
// means network.
func classProfile(class sdk.ResilienceClass) string {
	switch class {
	case sdk.ResilienceFile:
		return "file"
	case sdk.ResilienceNone:
		return "none"
	}
	return "network"
}

// ProfileName returns the name of the profile a connector's policy starts
// from: for a Spec that declares resilience defaults of its own, the
// connector's name (spec.Name, else typ); else the profile of the Spec's
// resilience class (network for an empty one, or when spec is nil: not
// known).
func ProfileName(typ string, spec *sdk.Spec) string {
	if spec == nil {
		return "network"
	}
	if len(spec.Resilience) > 0 {
		if spec.Name != "" {
			return spec.Name
		}
		return typ
	}
	return classProfile(spec.ResilienceClass)
}

// profileOf returns the profile a connector's policy starts from (see
// ProfileName); an invalid Spec.Resilience is an error naming the field
// and what is allowed.
func profileOf(typ string, spec *sdk.Spec) (profile, error) {
	name := ProfileName(typ, spec)
	if spec == nil || len(spec.Resilience) == 0 {
		return lookupProfile(name), nil
	}
	vals, err := SpecValues(spec.Resilience)
	if err != nil {
		return profile{}, fmt.Errorf("connector type %s: its plugin's Spec declares invalid resilience defaults: %w", name, err)
	}
	return profile{name: name, values: vals}, nil
}

// SpecValues checks a Spec's resilience defaults (sdk.Spec.Resilience)
// and converts them to the policy's field types: every path must be one
// of Fields, every value of the field's kind (a number of seconds for a
// duration) and within the range users may write. All problems come back
// at once, sorted by path.
func SpecValues(m map[string]any) (values, error) {
	paths := make([]string, 0, len(m))
	for k := range m {
		paths = append(paths, k)
	}
	slices.Sort(paths)
	out := values{}
	var errs []error
	for _, path := range paths {
		v, err := specValue(path, m[path])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[path] = v
	}
	return out, errors.Join(errs...)
}

// specValue converts one Spec default.
func specValue(path string, v any) (any, error) {
	f, ok := fieldByPath(path)
	if !ok {
		return nil, fmt.Errorf("%s: unknown field%s; the fields are %s", path, config.Suggest(path, Fields()), strings.Join(Fields(), ", "))
	}
	bad := func() error { return fmt.Errorf("%s: %v is not allowed; use %s", path, v, f.allowed) }
	switch f.kind {
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad()
		}
		return b, nil
	case kindStrategy:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case Strategy:
			s = string(x)
		}
		if st := Strategy(s); st == StrategyWait || st == StrategyFail {
			return st, nil
		}
		return nil, bad()
	}
	x, ok := specNumber(v)
	if !ok || x < f.lo || (f.loOpen && x == f.lo) || x > f.hi || (f.kind == kindInt && x != math.Trunc(x)) {
		return nil, bad()
	}
	switch f.kind {
	case kindInt:
		return int(x), nil
	case kindSeconds:
		return secondsToDuration(x), nil
	}
	return x, nil
}

// specNumber reads a number a Spec gives: any Go integer or float (a
// Spec decoded from the wire holds float64).
func specNumber(v any) (float64, bool) {
	var x float64
	switch n := v.(type) {
	case int:
		x = float64(n)
	case int32:
		x = float64(n)
	case int64:
		x = float64(n)
	case uint:
		x = float64(n)
	case uint32:
		x = float64(n)
	case uint64:
		x = float64(n)
	case float32:
		x = float64(n)
	case float64:
		x = n
	default:
		return 0, false
	}
	return x, !math.IsInf(x, 0) && !math.IsNaN(x)
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

// ProfilePolicy returns a class profile's policy (the global default with
// the profile's values applied), or false when there is no such profile.
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
