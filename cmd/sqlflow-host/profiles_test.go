package main

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/resilience"
)

// TestBuiltinPluginProfiles starts every built-in plugin, reads the
// resilience defaults its Spec declares, and checks the policy they give
// against the numbers docs/resilience.md documents ("Profiles"), with the
// per-host limiter key each one's Spec gives. The host knows none of them:
// they come from the plugins.
func TestBuiltinPluginProfiles(t *testing.T) {
	l, err := plugin.NewLauncher(plugin.Dir{Path: pluginsDir, From: "test"}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	policy := func(typ string) resilience.Resolved {
		t.Helper()
		p, err := config.Parse("p.yaml", []byte("version: 1\nsources:\n  s: {type: "+typ+"}\ndestinations:\n  d: {type: memory}\nflows:\n  - {from: s, to: d, target: t}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := l.Spec(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := resilience.Resolve(p.Sources["s"], &spec)
		if err != nil {
			t.Fatal(err)
		}
		if r.Profile != spec.Name || r.ClassAssumed {
			t.Errorf("%s: profile %q (assumed %v), want its own", typ, r.Profile, r.ClassAssumed)
		}
		return r
	}
	min, sec := time.Minute, time.Second
	rest := policy("rest")
	if rest.Retry != (resilience.Retry{MaxAttempts: 3, InitialDelay: sec, MaxDelay: 30 * sec, Multiplier: 2, Jitter: true}) ||
		rest.Breaker != (resilience.Breaker{Enabled: true, FailureThreshold: 5, RecoveryTimeout: min, SuccessThreshold: 2}) ||
		rest.CallTimeout != 30*sec ||
		rest.RateLimit != (resilience.RateLimit{Enabled: true, PerMinute: 60, Burst: 10, PerHost: true, Strategy: resilience.StrategyWait, Shared: true}) ||
		rest.Recovery != (resilience.Recovery{ConnectionRecovery: true, CredentialRefresh: true, CheckInterval: 30 * sec, MaxRestarts: 5, RestartWindow: 5 * min}) {
		t.Errorf("rest: %+v", rest.Policy)
	}
	s3 := policy("s3")
	if s3.Retry != (resilience.Retry{MaxAttempts: 3, InitialDelay: sec, MaxDelay: min, Multiplier: 2, Jitter: true}) ||
		s3.Breaker != (resilience.Breaker{Enabled: true, FailureThreshold: 3, RecoveryTimeout: 30 * sec, SuccessThreshold: 2}) ||
		s3.CallTimeout != min ||
		s3.RateLimit != (resilience.RateLimit{Enabled: true, PerMinute: 3000, Burst: 50, Strategy: resilience.StrategyWait}) ||
		s3.Recovery.CredentialRefresh {
		t.Errorf("s3: %+v", s3.Policy)
	}
	pg := policy("postgres")
	if pg.Retry != (resilience.Retry{MaxAttempts: 3, InitialDelay: 500 * time.Millisecond, MaxDelay: 10 * sec, Multiplier: 2, Jitter: true}) ||
		pg.Breaker != (resilience.Breaker{Enabled: true, FailureThreshold: 3, RecoveryTimeout: 30 * sec, SuccessThreshold: 2}) ||
		pg.CallTimeout != 30*sec || pg.RateLimit.Enabled ||
		pg.Recovery != (resilience.Recovery{ConnectionRecovery: true, CredentialRefresh: false, CheckInterval: 15 * sec, MaxRestarts: 5, RestartWindow: 5 * min}) {
		t.Errorf("postgres: %+v", pg.Policy)
	}
	for _, typ := range []string{"gsheets", "google_sheets"} {
		g := policy(typ)
		if g.Profile != "gsheets" || g.Retry != (resilience.Retry{MaxAttempts: 7, InitialDelay: sec, MaxDelay: 32 * sec, Multiplier: 2, Jitter: true}) ||
			g.CallTimeout != min ||
			g.RateLimit != (resilience.RateLimit{Enabled: true, PerMinute: 60, Burst: 1, PerHost: true, Strategy: resilience.StrategyWait, Shared: true}) ||
			!g.Recovery.CredentialRefresh {
			t.Errorf("%s: %+v", typ, g.Policy)
		}
	}
	sh := policy("shopify")
	if sh.Retry.MaxAttempts != 5 || sh.CallTimeout != 30*sec ||
		sh.RateLimit != (resilience.RateLimit{Enabled: true, PerMinute: 1200, Burst: 40, PerHost: true, Strategy: resilience.StrategyWait, Shared: true}) ||
		!sh.Recovery.CredentialRefresh {
		t.Errorf("shopify: %+v", sh.Policy)
	}
	for _, typ := range []string{"csv", "parquet"} {
		f := policy(typ)
		want, _ := resilience.ProfilePolicy("file")
		if f.Policy != want {
			t.Errorf("%s: %+v, want the file class's %+v", typ, f.Policy, want)
		}
	}
	mem := policy("memory")
	if want, _ := resilience.ProfilePolicy("none"); mem.Policy != want {
		t.Errorf("memory: %+v, want the none class's %+v", mem.Policy, want)
	}

	// The per-host limiter key each one's Spec gives.
	for _, tt := range []struct {
		typ  string
		cfg  map[string]any
		want string
	}{
		{"rest", map[string]any{"url": "https://API.example.com:8443/v1"}, "api.example.com"},
		{"shopify", map[string]any{"shop_domain": "My-Shop.myshopify.com"}, "my-shop.myshopify.com"},
		{"shopify", map[string]any{"shop_domain": "x", "endpoint": "http://127.0.0.1:9/p"}, "127.0.0.1"},
		{"gsheets", map[string]any{"spreadsheet_id": "abc"}, "sheets.googleapis.com"},
		{"google_sheets", map[string]any{"endpoint": "http://127.0.0.1:7/"}, "127.0.0.1"},
		{"postgres", map[string]any{"dsn": "host=db port=5432", "host": "DB:5432"}, "db"},
		{"postgres", map[string]any{"dsn": "postgres://u@pg.internal:5432/x"}, "pg.internal"},
		{"s3", map[string]any{"endpoint_url": "http://127.0.0.1:9000", "uri": "s3://bucket/k"}, "127.0.0.1"},
		{"csv", map[string]any{"path": "x.csv"}, ""},
	} {
		spec, err := l.Spec(ctx, tt.typ)
		if err != nil {
			t.Fatal(err)
		}
		if got := engine.TargetHost(tt.cfg, spec); got != tt.want {
			t.Errorf("%s %v: host %q, want %q", tt.typ, tt.cfg, got, tt.want)
		}
	}
}
