package resilience_test

import (
	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// builtinSpecs are the resilience parts of the built-in plugins' Specs,
// copied here because host tests do not import plugins/: the resolver's
// tests run against real profiles. cmd/sqlflow-host's
// TestBuiltinPluginProfiles checks the plugins themselves.
var builtinSpecs = map[string]sdk.Spec{
	"rest": {Name: "rest", ResilienceClass: sdk.ResilienceNetwork, LegacyRetryKeys: true, Resilience: map[string]any{
		"retry.max_attempts": 3, "retry.initial_delay": 1, "retry.max_delay": 30, "retry.backoff_multiplier": 2.0, "retry.jitter": true,
		"circuit_breaker.enabled": true, "circuit_breaker.failure_threshold": 5, "circuit_breaker.recovery_timeout": 60,
		"circuit_breaker.success_threshold": 2, "timeout": 30,
		"rate_limit.enabled": true, "rate_limit.max_requests_per_minute": 60.0, "rate_limit.burst_size": 10,
		"rate_limit.per_host": true, "rate_limit.backpressure_strategy": "wait", "rate_limit.shared": true,
		"recovery.enable_connection_recovery": true, "recovery.enable_credential_refresh": true, "recovery.recovery_check_interval": 30,
	}},
	"s3": {Name: "s3", ResilienceClass: sdk.ResilienceNetwork, Resilience: map[string]any{
		"retry.max_attempts": 3, "retry.initial_delay": 1, "retry.max_delay": 60, "retry.backoff_multiplier": 2.0,
		"circuit_breaker.enabled": true, "circuit_breaker.failure_threshold": 3, "circuit_breaker.recovery_timeout": 30, "timeout": 60,
		"rate_limit.enabled": true, "rate_limit.max_requests_per_minute": 3000.0, "rate_limit.burst_size": 50,
		"rate_limit.backpressure_strategy": "wait",
	}},
	"postgres": {Name: "postgres", ResilienceClass: sdk.ResilienceNetwork, Resilience: map[string]any{
		"retry.max_attempts": 3, "retry.initial_delay": 0.5, "retry.max_delay": 10,
		"circuit_breaker.enabled": true, "circuit_breaker.failure_threshold": 3, "circuit_breaker.recovery_timeout": 30, "timeout": 30,
		"recovery.enable_connection_recovery": true, "recovery.enable_credential_refresh": false, "recovery.recovery_check_interval": 15,
	}},
	"gsheets": {Name: "gsheets", ResilienceClass: sdk.ResilienceNetwork, Aliases: []string{"google_sheets"}, Resilience: map[string]any{
		"retry.max_attempts": 7, "retry.initial_delay": 1, "retry.max_delay": 32, "retry.backoff_multiplier": 2.0, "retry.jitter": true,
		"circuit_breaker.enabled": true, "circuit_breaker.failure_threshold": 5, "circuit_breaker.recovery_timeout": 60,
		"circuit_breaker.success_threshold": 2, "timeout": 60,
		"rate_limit.enabled": true, "rate_limit.max_requests_per_minute": 60.0, "rate_limit.burst_size": 1,
		"rate_limit.per_host": true, "rate_limit.backpressure_strategy": "wait", "rate_limit.shared": true,
		"recovery.enable_connection_recovery": true, "recovery.enable_credential_refresh": true, "recovery.recovery_check_interval": 30,
	}},
	"shopify": {Name: "shopify", ResilienceClass: sdk.ResilienceNetwork, LegacyRetryKeys: true, Resilience: map[string]any{
		"retry.max_attempts": 5, "retry.initial_delay": 1, "retry.max_delay": 30, "retry.backoff_multiplier": 2.0, "retry.jitter": true,
		"circuit_breaker.enabled": true, "circuit_breaker.failure_threshold": 5, "circuit_breaker.recovery_timeout": 60,
		"circuit_breaker.success_threshold": 2, "timeout": 30,
		"rate_limit.enabled": true, "rate_limit.max_requests_per_minute": 1200.0, "rate_limit.burst_size": 40,
		"rate_limit.per_host": true, "rate_limit.backpressure_strategy": "wait", "rate_limit.shared": true,
		"recovery.enable_connection_recovery": true, "recovery.enable_credential_refresh": true, "recovery.recovery_check_interval": 30,
	}},
	"csv":     {Name: "csv", ResilienceClass: sdk.ResilienceFile, Resilience: fileDefaults},
	"parquet": {Name: "parquet", ResilienceClass: sdk.ResilienceFile, Resilience: fileDefaults},
	"memory": {Name: "memory", ResilienceClass: sdk.ResilienceNone, Resilience: map[string]any{
		"retry.max_attempts": 1, "circuit_breaker.enabled": false, "rate_limit.enabled": false,
	}},
}

var fileDefaults = map[string]any{
	"retry.max_attempts": 2, "retry.initial_delay": 0.1, "retry.max_delay": 1, "timeout": 60,
	"circuit_breaker.enabled": false, "rate_limit.enabled": false,
	"recovery.enable_connection_recovery": true, "recovery.enable_credential_refresh": false,
}

// specFor returns the Spec the launcher would find for c's type: a
// built-in's (by name or alias), else one of the given class, else nil (no
// plugin: not known).
func specFor(c *config.Connector, class sdk.ResilienceClass) *sdk.Spec {
	for _, s := range builtinSpecs {
		if s.Name == c.Type || len(s.Aliases) > 0 && s.Aliases[0] == c.Type {
			return &s
		}
	}
	if class == "" {
		return nil
	}
	return &sdk.Spec{Name: c.Type, ResilienceClass: class}
}

// specArgs returns Resolve's arguments for c (see specFor).
func specArgs(c *config.Connector, class sdk.ResilienceClass) (*config.Connector, *sdk.Spec) {
	return c, specFor(c, class)
}
