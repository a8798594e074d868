package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

func TestVersion(t *testing.T) {
	expect(t, cli(t, "version"), 0, "sqlflow-host ", "connector protocol 1")
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no args to run", []string{"run"}, "accepts 1 arg"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", []string{"run", "--nope", "x.yaml"}, "unknown flag"},
		{"bad concurrency", []string{"run", "--concurrency", "0", "x.yaml"}, "--concurrency 0"},
		{"bad log level", []string{"--log-level", "loud", "version"}, "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, cli(t, tt.args...), 2, tt.want)
		})
	}
}

func TestMissingPipelineFile(t *testing.T) {
	expect(t, cli(t, "run", "/nonexistent/pipeline.yaml"), 2, "/nonexistent/pipeline.yaml")
}

func TestYAMLSyntaxError(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", "version: 1\nsources:\n  a: {type: csv, path: [\n")
	expect(t, cli(t, "validate", p), 2, "p.yaml:")
}

func TestUnknownKey(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  a: {type: memory, rows: [{id: 1}]}
destinations:
  b: {type: memory}
flows:
  - {from: a, to: b, target: t, colour: blue}
`)
	expect(t, cli(t, "validate", p), 2, "p.yaml:7:", "colour")
}

func TestUnknownConnectorType(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  a: {type: oracle, dsn: x}
destinations:
  b: {type: memory}
flows:
  - {from: a, to: b, target: t}
`)
	r := cli(t, "validate", p)
	expect(t, r, 2, `unknown connector type "oracle"`, pluginsDir, "plugins found: ", "csv", "memory")
}

func TestConnectorFieldErrorHasPosition(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  a:
    type: memory
    rows: [{id: 1}]
    colour: blue
destinations:
  b: {type: memory}
flows:
  - {from: a, to: b, target: t}
`)
	expect(t, cli(t, "validate", p), 2, "p.yaml:6:", "sources.a.colour")
}

func TestModeNotSupported(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  a: {type: memory, rows: [{id: 1}]}
destinations:
  b: {type: csv, path: `+dir+`}
flows:
  - {from: a, to: b, target: t.csv, mode: upsert, key: [id]}
`)
	expect(t, cli(t, "validate", p), 2, "p.yaml:7:", "flows[0].mode", "upsert", "replace")
}

func TestNotAPluginInPluginsDir(t *testing.T) {
	dir := testenv.SafeDir(t)
	write(t, dir, "sqlflow-plugin-fake", "#!/bin/sh\necho hello\n")
	os.Chmod(filepath.Join(dir, "sqlflow-plugin-fake"), 0o755)
	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  a: {type: fake}
destinations:
  b: {type: fake}
flows:
  - {from: a, to: b}
`)
	r := cliDir(t, dir, "validate", p)
	expect(t, r, 2, "p.yaml:3:3: sources.a:", "p.yaml:5:3: destinations.b:", "not a sqlflow-host plugin")
}

func cliDir(t *testing.T, dir string, args ...string) result {
	t.Helper()
	old := pluginsDir
	pluginsDir = dir
	defer func() { pluginsDir = old }()
	return cli(t, args...)
}

// The quickstart runs from any directory: its paths are relative to the
// pipeline file, which here is a copy of examples/quickstart.
func TestQuickstart(t *testing.T) {
	havePlugin(t, "parquet")
	proj := t.TempDir()
	for _, f := range []string{"pipeline.yaml", "orders.csv"} {
		write(t, proj, f, mustRead(t, filepath.Join(repoRoot, "examples/quickstart", f)))
	}
	t.Chdir(t.TempDir())
	r := cli(t, "run", filepath.Join(proj, "pipeline.yaml"))
	expect(t, r, 0, "orders_to_parquet", "orders_to_memory", "500 rows")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "orders_to_parquet") && !strings.Contains(line, " 500 ") {
			t.Fatalf("summary line %q lacks 500 rows", line)
		}
	}
	if _, err := os.Stat(filepath.Join(proj, "out/orders.parquet")); err != nil {
		t.Fatalf("parquet target missing: %v\n%s", err, r)
	}
	// A second run, from the pipeline's own directory, replaces: it does
	// not add.
	t.Chdir(proj)
	expect(t, cli(t, "run", "pipeline.yaml"), 0, "500 rows")
}

func TestRaggedCSVLeavesNoTarget(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "in/bad.csv", "id,name\n1,a\n2,b,extra\n3,c\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  src: {type: csv, path: `+dir+`/in/bad.csv}
destinations:
  dst: {type: csv, path: `+dir+`/out}
flows:
  - {from: src, to: dst, target: good.csv}
`)
	r := cli(t, "run", p)
	expect(t, r, 1, "bad.csv", "line 3")
	if _, err := os.Stat(filepath.Join(dir, "out/good.csv")); err == nil {
		t.Fatal("a failed flow left a target behind")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	for _, e := range entries {
		t.Errorf("left in the target directory: %s", e.Name())
	}
}

func TestNotParquet(t *testing.T) {
	havePlugin(t, "parquet")
	dir := t.TempDir()
	write(t, dir, "in/fake.parquet", "this is not parquet\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  src: {type: parquet, path: `+dir+`/in/fake.parquet}
destinations:
  dst: {type: memory}
flows:
  - {from: src, to: dst, target: t}
`)
	r := cli(t, "run", p)
	if r.code == 0 {
		t.Fatalf("a non-Parquet file was read: %s", r)
	}
	expect(t, r, r.code, "fake.parquet")
}

func TestCommandsOnQuickstart(t *testing.T) {
	t.Chdir(repoRoot)
	qs := "examples/quickstart/pipeline.yaml"
	havePlugin(t, "parquet")
	expect(t, cli(t, "validate", qs), 0, "is valid: 1 source, 2 destinations, 2 flows")
	expect(t, cli(t, "check", qs), 0, "orders_csv", "ok")
	expect(t, cli(t, "check", qs, "orders_csv"), 0, "orders_csv")
	expect(t, cli(t, "check", qs, "nope"), 2, `no source or destination named "nope"`)
	expect(t, cli(t, "discover", qs, "orders_csv"), 0, "stream orders", "order_id", "int64")
	expect(t, cli(t, "discover", qs, "lake"), 2, `no source named "lake"`)
	r := cli(t, "preview", qs, "orders_csv", "orders", "--limit", "3")
	expect(t, r, 0, "order_id", "customer_051")
	if n := strings.Count(strings.TrimSpace(r.stdout), "\n"); n != 3 {
		t.Fatalf("preview --limit 3 printed %d rows:\n%s", n, r.stdout)
	}
	expect(t, cli(t, "preview", qs, "orders_csv", "nope"), 2, `no stream "nope"`)
}

func TestCheckFailureExits1(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  src: {type: csv, path: /nonexistent/data.csv}
destinations:
  dst: {type: memory}
flows:
  - {from: src, to: dst, target: t}
`)
	expect(t, cli(t, "check", p), 1, "/nonexistent/data.csv")
}

func TestPluginsListAndLock(t *testing.T) {
	dir := testenv.SafeDir(t)
	data, err := os.ReadFile(filepath.Join(pluginsDir, "sqlflow-plugin-memory"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sqlflow-plugin-memory")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	expect(t, cliDir(t, dir, "plugins", "list"), 0, "memory", "0.1.0", "source,destination", "lock: none")
	expect(t, cliDir(t, dir, "plugins", "lock"), 0, "sqlflow-plugin-memory", "wrote")
	expect(t, cliDir(t, dir, "plugins", "list"), 0, "ok, locked")

	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  a: {type: memory, rows: [{id: 1}]}
destinations:
  b: {type: memory}
flows:
  - {from: a, to: b, target: t}
`)
	expect(t, cliDir(t, dir, "run", p), 0, "1 row")
	// Change the binary after locking: the host refuses it and says why.
	f, _ := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("x"))
	f.Close()
	expect(t, cliDir(t, dir, "run", p), 1, "refusing plugin memory", "changed since it was locked")
}

func TestIncrementalReadsOnlyNewRows(t *testing.T) {
	dir := t.TempDir()
	in := write(t, dir, "in/events.csv", "id,name\n1,a\n2,b\n9,c\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  src: {type: csv, path: `+in+`}
destinations:
  dst: {type: memory}
flows:
  - {name: ev, from: src, to: dst, target: t, mode: append, incremental: {cursor: id}}
`)
	stateDir := filepath.Join(dir, "state")
	expect(t, cli(t, "run", "--state-dir", stateDir, p), 0, "3 rows")
	// Typed comparison: 10 > 9 although "10" < "9" as strings.
	write(t, dir, "in/events.csv", "id,name\n1,a\n2,b\n9,c\n10,d\n11,e\n")
	r := cli(t, "run", "--state-dir", stateDir, p)
	expect(t, r, 0)
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "ev ") && !strings.Contains(line, " 2 ") {
			t.Fatalf("second run did not read exactly the 2 new rows: %q\n%s", line, r)
		}
	}
	data, err := os.ReadFile(filepath.Join(stateDir, "p", "ev.json"))
	if err != nil || !strings.Contains(string(data), `"cursor": 11`) {
		t.Fatalf("state: %s %v", data, err)
	}
	// A run that fails does not advance the cursor.
	write(t, dir, "in/events.csv", "id,name\n1,a\n12,x,ragged\n")
	expect(t, cli(t, "run", "--state-dir", stateDir, p), 1)
	data, _ = os.ReadFile(filepath.Join(stateDir, "p", "ev.json"))
	if !strings.Contains(string(data), `"cursor": 11`) {
		t.Fatalf("a failed run moved the cursor: %s", data)
	}
}

func TestInlineRowsKeepColumnOrder(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  a: {type: memory, table_name: t, rows: [{zulu: 1, alpha: x}]}
destinations:
  b: {type: memory}
flows:
  - {from: a, to: b}
`)
	r := cli(t, "discover", p, "a")
	if i, j := strings.Index(r.stdout, "zulu"), strings.Index(r.stdout, "alpha"); i < 0 || j < 0 || i > j {
		t.Fatalf("columns out of file order:\n%s", r)
	}
}

func TestCheckSourceWithMissingFileInExistingDir(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  src: {type: csv, path: `+dir+`/missing.csv}
destinations:
  dst: {type: memory}
flows:
  - {from: src, to: dst, target: t}
`)
	expect(t, cli(t, "check", p, "src"), 1, "missing.csv")
}

func TestGoogleSheetsAliasStartsTheGsheetsPlugin(t *testing.T) {
	havePlugin(t, "gsheets")
	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  sheet: {type: google_sheets, spreadsheet_id: abc, sheet_name: Sheet1, api_key: k}
destinations:
  out: {type: memory}
flows:
  - {from: sheet, stream: Sheet1, to: out, target: t}
`)
	expect(t, cli(t, "validate", p), 0, "is valid")
}
