package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// volatileNumbers are the JSON fields whose values change from run to run;
// goldenJSON sets them to 0.
var volatileNumbers = map[string]bool{"seconds": true, "rows_per_sec": true, "rate_limit_wait_seconds": true}

// volatileStrings are the JSON fields goldenJSON replaces with a
// placeholder.
var volatileStrings = map[string]string{"go_version": "GO_VERSION", "host_version": "HOST_VERSION", "updated_at": "UPDATED_AT"}

// jsonDoc checks that r's stdout is exactly one JSON document and returns
// it normalised for a golden file: the volatile fields replaced, dir
// written $DIR and the plugins directory $PLUGINS.
func jsonDoc(t *testing.T, r result, dir string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, r)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON document:\n%s", r)
	}
	doc = normalise(doc, "", dir)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func normalise(v any, key, dir string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalise(x, k, dir)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = normalise(x, key, dir)
		}
		return v
	case json.Number:
		if volatileNumbers[key] {
			return 0
		}
		return v
	case string:
		if p, ok := volatileStrings[key]; ok && v != "" {
			return p
		}
		v = strings.ReplaceAll(v, pluginsDir, "$PLUGINS")
		if dir != "" {
			v = strings.ReplaceAll(v, dir, "$DIR")
		}
		return v
	}
	return v
}

func TestJSONOutput(t *testing.T) {
	havePlugin(t, "parquet")
	dir := t.TempDir()
	write(t, dir, "orders.csv", "id,name\n1,a\n2,b\n")
	write(t, dir, "ragged.csv", "id,name\n1,a\n2,b,extra\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  orders: {type: csv, path: orders.csv}
  ragged: {type: csv, path: ragged.csv}
  gen: {type: memory, table_name: events, generate: {rows: 5, seed: 1}}
destinations:
  lake: {type: parquet, path: out}
  scratch: {type: memory}
flows:
  - {name: orders_to_lake, from: orders, to: lake, target: orders.parquet}
  - {name: ragged_to_lake, from: ragged, to: lake, target: ragged.parquet}
  - {name: events, from: gen, to: scratch, target: events, mode: append, incremental: {cursor: id}}
`)
	okFile := write(t, dir, "ok.yaml", `version: 1
sources:
  orders: {type: csv, path: orders.csv}
destinations:
  scratch: {type: memory}
flows:
  - {name: orders_to_memory, from: orders, to: scratch, target: orders}
`)
	bad := write(t, dir, "bad.yaml", `version: 1
sources:
  orders: {type: csv, path: orders.csv, colour: blue}
destinations:
  scratch: {type: memory}
flows:
  - {from: orders, to: scratch, target: t, mode: sideways}
`)
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string
	}{
		{"run", []string{"run", "--state-dir", filepath.Join(dir, "state"), p}, 1, "json_run.golden"},
		{"run ok", []string{"run", okFile}, 0, "json_run_ok.golden"},
		{"run missing file", []string{"run", filepath.Join(dir, "nonexistent.yaml")}, 2, "json_run_missing.golden"},
		{"validate", []string{"validate", okFile}, 0, "json_validate.golden"},
		{"validate invalid", []string{"validate", bad}, 2, "json_validate_invalid.golden"},
		{"check", []string{"check", okFile}, 0, "json_check.golden"},
		{"check failed", []string{"check", p}, 1, "json_check_failed.golden"},
		{"discover", []string{"discover", p, "orders"}, 0, "json_discover.golden"},
		{"state list", []string{"state", "list", "--state-dir", filepath.Join(dir, "state"), p}, 0, "json_state_list.golden"},
		{"version", []string{"version"}, 0, "json_version.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, append([]string{"--output", "json"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("want exit %d, got %s", tt.code, r)
			}
			golden(t, tt.golden, jsonDoc(t, r, dir))
		})
	}
}

func TestJSONResilience(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "pipeline.yaml", resiliencePipeline)
	r := cli(t, "resilience", "-o", "json", p)
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	got := jsonDoc(t, r, dir)
	for _, secret := range []string{"s3cr3t", "shpat_secret", "hunter2"} {
		if strings.Contains(got, secret) {
			t.Errorf("output shows the secret %q", secret)
		}
	}
	golden(t, "json_resilience.golden", got)
}

func TestJSONPluginsList(t *testing.T) {
	r := cli(t, "plugins", "list", "--output", "json")
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	var doc pluginsJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if doc.Version != jsonVersion || doc.Command != "plugins list" || doc.PluginsDir != pluginsDir {
		t.Fatalf("header: %+v", doc)
	}
	types := map[string]pluginJSON{}
	for _, p := range doc.Plugins {
		types[p.Type] = p
	}
	for _, typ := range []string{"csv", "memory", "parquet", "postgres", "s3"} {
		if p, ok := types[typ]; !ok || p.Status != "ok" || p.Version == "" || len(p.Roles) == 0 {
			t.Errorf("plugin %s: %+v", typ, p)
		}
	}
	// The plugins' versions change with their code: the golden file holds
	// the shape of one entry.
	doc.Plugins = []pluginJSON{types["memory"]}
	doc.Plugins[0].Version = "PLUGIN_VERSION"
	b, _ := json.MarshalIndent(doc, "", "  ")
	golden(t, "json_plugins_list.golden", jsonDoc(t, result{stdout: string(b)}, ""))
}

// --output json is refused by commands that print only text, and an
// unknown format is a usage error; the error document says so.
func TestJSONOutputRefused(t *testing.T) {
	r := cli(t, "--output", "json", "preview", "x.yaml", "src", "stream")
	expect(t, r, 2, "preview prints text only")
	var doc errorDocJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Error == nil || doc.Error.Class != "CONFIGURATION" || doc.Command != "preview" {
		t.Fatalf("error document: %+v (%v)\n%s", doc, err, r)
	}
	expect(t, cli(t, "--output", "yaml", "version"), 2, `--output "yaml": use text or json`)
	// A command line naming no command still gets its document.
	for _, args := range [][]string{{"-o", "json", "rnu"}, {"rnu", "--output=json"}} {
		r = cli(t, args...)
		doc = errorDocJSON{}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 2 || doc.Command != "" || doc.Error == nil || !strings.Contains(doc.Error.Message, `did you mean "run"?`) {
			t.Fatalf("%v: error document %+v (%v)\n%s", args, doc, err, r)
		}
	}
}

// --log-format json writes hclog's JSON lines on stderr; stdout keeps the
// JSON document alone.
func TestLogFormatJSON(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: t, generate: {rows: 3, seed: 1}}
destinations:
  m: {type: memory}
flows:
  - {name: f, from: gen, to: m, target: t}
`)
	r := cli(t, "--log-format", "json", "--output", "json", "run", p)
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	jsonDoc(t, r, dir)
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("stderr line %q is not JSON: %v\n%s", line, err, r)
		}
		if entry["@message"] == nil || entry["@level"] == nil {
			t.Fatalf("stderr line %q lacks @message or @level", line)
		}
		lines++
	}
	if lines == 0 {
		t.Fatalf("no log line on stderr:\n%s", r)
	}
	expect(t, cli(t, "--log-format", "xml", "version"), 2, `--log-format "xml"`)
}

func TestErrorClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"transient", fmt.Errorf("read page: %w", errclass.Transientf("reset")), "TRANSIENT"},
		{"rate limited", errclass.RateLimitedf(time.Second, "429"), "RATE_LIMITED"},
		{"auth expired", errclass.AuthExpiredf("token"), "AUTH_EXPIRED"},
		{"permanent", errclass.Permanentf("no such table"), "PERMANENT"},
		{"a key a connector refused", &engine.ConfigError{Err: errclass.Permanentf("bad key")}, "CONFIGURATION"},
		{"usage", &usageError{errors.New("--concurrency 0")}, "CONFIGURATION"},
		{"one of several flows", &engine.FlowsError{Errs: []error{errclass.Permanentf("x"), &engine.ConfigError{Err: errors.New("y")}}}, "CONFIGURATION"},
		{"interrupted", fmt.Errorf("interrupted: %w", context.Canceled), "CANCELED"},
		{"no class", errors.New("plain"), "UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorClass(tt.err); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// runDoc's statuses: a skipped flow (the run stopped before its turn) is
// neither ok nor failed.
func TestRunDocStatuses(t *testing.T) {
	results := []engine.FlowResult{
		{Result: pipeline.Result{Flow: "a", Committed: true, Rows: 2, Elapsed: time.Second, Report: map[string]string{"location": "/x"}}},
		{Result: pipeline.Result{Flow: "b"}},
		{Result: pipeline.Result{Flow: "c"}, Err: errclass.Permanentf("boom")},
		{Result: pipeline.Result{Flow: "d"}, Err: context.Canceled, Skipped: true},
	}
	doc := runDoc("p.yaml", results, errors.New("2 of 4 flows failed: c, d"))
	var got []string
	for _, f := range doc.Flows {
		got = append(got, f.Status)
	}
	if strings.Join(got, ",") != "ok,unchanged,failed,skipped" || doc.Status != "failed" || doc.Flows[3].Error.Class != "CANCELED" || doc.Flows[0].RowsPerSec != 2 {
		t.Fatalf("statuses %v, doc %+v", got, doc)
	}
	if resultText(results[3]) != "skipped: the run was stopped before the flow's turn" {
		t.Fatalf("text: %q", resultText(results[3]))
	}
}
