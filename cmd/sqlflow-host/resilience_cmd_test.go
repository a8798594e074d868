package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// resiliencePipeline shows every tier, the legacy keys, an alias, a
// policy switched off and a secret that must not be printed.
const resiliencePipeline = `version: 1
sources:
  orders_api:
    type: rest
    url: https://api.example.com/orders
    auth: {type: bearer, token: s3cr3t-token}
    resilience:
      retry_attempts: 5
      timeout: 60
      rate_limit: {max_requests_per_minute: 30, backpressure_strategy: fail}
  legacy_api:
    type: rest
    url: https://api.example.com/v1
    timeout: 20
    max_retries: 2
    retry_delay: 0.5
  shop:
    type: shopify
    shop_domain: example
    access_token: shpat_secret
  sheet:
    type: google_sheets
    spreadsheet_id: abc
    sheet_name: Orders
    resilience:
      circuit_breaker: false
      retry: {max_attempts: 4, max_delay: 64, jitter: true}
  orders_csv: {type: csv, path: orders.csv}
  faults:
    type: memory
    rows: [{id: 1}]
    resilience: {retry: {max_attempts: 5, initial_delay: 0.01}}
destinations:
  warehouse:
    type: postgres
    host: db
    password: hunter2
    resilience: {recovery: {enable_credential_refresh: true}}
  lake: {type: parquet, path: out, resilience: false}
  mem: {type: memory}
flows:
  - {from: orders_csv, to: mem, target: t}
`

func TestResilienceCommandGolden(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "pipeline.yaml", resiliencePipeline)
	r := cli(t, "resilience", p)
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	got := "$ sqlflow-host resilience pipeline.yaml\n" + r.stdout + "--- stderr\n" + strings.ReplaceAll(r.stderr, dir+string(filepath.Separator), "")
	for _, secret := range []string{"s3cr3t", "shpat_secret", "hunter2"} {
		if strings.Contains(got, secret) {
			t.Errorf("output shows the secret %q", secret)
		}
	}
	golden(t, "resilience.golden", got)
}

func TestResilienceCommand(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", resiliencePipeline)
	bad := write(t, dir, "bad.yaml", `version: 1
sources:
  a:
    type: rest
    url: http://x
    resilience:
      retry_attempts: 0
      retry: {backoff_multiplier: 0.5}
  b: {type: memory, resilience: {rate_limit: {burst_size: 0}}}
destinations:
  d: {type: memory}
flows:
  - {from: a, to: d, target: t}
`)
	third := write(t, dir, "third.yaml", `version: 1
sources:
  a: {type: ftp, host: x}
destinations:
  d: {type: memory}
flows:
  - {from: a, to: d, target: t}
`)
	t.Run("one connector by name", func(t *testing.T) {
		r := cli(t, "resilience", good, "warehouse")
		expect(t, r, 0, "destination warehouse (postgres, profile postgres)",
			"recovery.enable_credential_refresh   true   full block")
		if strings.Contains(r.stdout, "orders_api") {
			t.Errorf("printed other connectors:\n%s", r.stdout)
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		expect(t, cli(t, "resilience", good, "nope"), 2,
			`no source or destination named "nope"; the sources are orders_api, legacy_api, shop, sheet, orders_csv, faults; the destinations are warehouse, lake, mem`)
	})
	t.Run("invalid settings exit 2 with every problem", func(t *testing.T) {
		r := cli(t, "resilience", bad)
		expect(t, r, 2,
			"bad.yaml:7:7: sources.a.resilience.retry_attempts: cannot be used together with the retry block (line 8); set max_attempts inside retry instead",
			"bad.yaml:8:35: sources.a.resilience.retry.backoff_multiplier: 0.5 is not allowed; use a number from 1 to 100 (1 keeps every delay the same)",
			"bad.yaml:9:59: sources.b.resilience.rate_limit.burst_size: 0 is not allowed; use a whole number from 1 to 1000000")
		if r.stdout != "" {
			t.Errorf("printed a policy for an invalid file:\n%s", r.stdout)
		}
	})
	t.Run("validate refuses the same settings", func(t *testing.T) {
		expect(t, cli(t, "validate", bad), 2, "bad.yaml:9:59: sources.b.resilience.rate_limit.burst_size")
	})
	t.Run("third-party type without a plugin", func(t *testing.T) {
		expect(t, cli(t, "resilience", third), 0,
			"source a (ftp, class unknown: profile network assumed)",
			"its plugin did not start: unknown connector type \"ftp\"",
			"circuit_breaker.enabled              true   profile network")
	})
	t.Run("third-party type with a plugin", func(t *testing.T) {
		// A plugin that declares only its class gets the class profile.
		plugins := pluginsWith(t, "hangplugin", "ftp")
		expect(t, cli(t, "--plugins-dir", plugins, "resilience", third), 0,
			"source a (ftp, class network from its plugin, profile network)",
			"retry.max_attempts                   3      default",
			"circuit_breaker.enabled              true   profile network")
	})
	t.Run("third-party plugin declaring its own defaults", func(t *testing.T) {
		// Equal footing: a third party's Spec gives its profile, its
		// alias and its old retry keys exactly as a built-in's does.
		plugins := pluginsWith(t, "acmeplugin", "acme")
		acme := write(t, dir, "acme.yaml", `version: 1
sources:
  a: {type: acme_legacy, server: db.example.com, max_retries: 1}
destinations:
  d: {type: memory}
flows:
  - {from: a, to: d, target: t}
`)
		expect(t, cli(t, "--plugins-dir", plugins, "resilience", acme), 0,
			"source a (acme_legacy, profile acme)",
			"timeout                              45s    profile acme",
			"retry.max_attempts                   2      legacy key max_retries",
			"retry.initial_delay                  0.25s  profile acme",
			"rate_limit.max_requests_per_minute   90     profile acme",
			"circuit_breaker.enabled              true   default",
			"(max_retries: taken by the host, not sent to the plugin)",
			"max_retries is deprecated")
	})
	t.Run("usage", func(t *testing.T) {
		expect(t, cli(t, "resilience"), 2, "accepts between 1 and 2 arg(s)")
	})
}
