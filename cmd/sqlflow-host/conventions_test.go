package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	want := "sqlflow-host " + version + " (connector protocol 1, " + runtime.Version() + ")\n"
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}} {
		r := cli(t, args...)
		if r.code != 0 || r.stdout != want {
			t.Errorf("%v: want %q, got %s", args, want, r)
		}
	}
}

func TestUnknownCommandHint(t *testing.T) {
	tests := []struct{ arg, want string }{
		{"rnu", `error: unknown command "rnu"; did you mean "run"? (sqlflow-host --help lists the commands)` + "\n"},
		{"frobnicate", `error: unknown command "frobnicate" (sqlflow-host --help lists the commands)` + "\n"},
		{"plugins lsit", `error: unknown command "lsit" for "sqlflow-host plugins"; did you mean "list"? (sqlflow-host plugins --help lists the commands)` + "\n"},
		{"state rest", `error: unknown command "rest" for "sqlflow-host state"; did you mean "reset"? (sqlflow-host state --help lists the commands)` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			r := cli(t, strings.Fields(tt.arg)...)
			if r.code != 2 || r.stderr != tt.want || r.stdout != "" {
				t.Fatalf("want exit 2 and %q, got %s", tt.want, r)
			}
		})
	}
}

const previewPipeline = `version: 1
sources:
  orders: {type: csv, path: orders.csv}
  gen: {type: memory, table_name: events, generate: {rows: 3, seed: 1}}
destinations:
  m: {type: memory}
flows:
  - {name: copy_orders, from: orders, to: m, target: t}
  - {name: copy_events, from: gen, to: m, target: u}
`

// preview's STREAM may be left out when the source has one stream.
func TestPreviewDefaultStream(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "orders.csv", "id,name\n1,alice\n2,bob\n")
	p := write(t, dir, "p.yaml", previewPipeline)
	expect(t, cli(t, "preview", p, "orders"), 0, "id", "alice", "bob")
	expect(t, cli(t, "preview", p, "orders", "orders"), 0, "alice")
	expect(t, cli(t, "preview", p, "orders", "nope"), 2, `no stream "nope"`)
}

// complete runs cobra's hidden completion command and returns the
// completions, without the directive line.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	r := cli(t, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("completion failed: %s", r)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasPrefix(line, ":") {
			out = append(out, line)
		}
	}
	return out
}

func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "orders.csv", "id,name\n1,alice\n")
	p := write(t, dir, "p.yaml", previewPipeline)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"pipeline files", []string{"run", ""}, "yaml yml"},
		{"flows for --select", []string{"run", p, "--select", ""}, "copy_orders copy_events"},
		{"sources", []string{"discover", p, ""}, "orders gen"},
		{"connectors", []string{"check", p, ""}, "orders gen m"},
		{"flows of state reset", []string{"state", "reset", p, "copy_orders", ""}, "copy_orders copy_events"},
		{"streams of preview", []string{"preview", p, "gen", ""}, "events"},
		{"log levels", []string{"--log-level", ""}, "trace debug info warn error"},
		{"output formats", []string{"--output", ""}, "text json"},
		{"a file that does not load", []string{"discover", "/nonexistent.yaml", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(complete(t, tt.args...), " "); got != tt.want {
				t.Fatalf("want %q, got %q", tt.want, got)
			}
		})
	}
}

// Help texts are whole and fit 80 columns: no line of check's help (or any
// command's long text) is wider, and every word of the long text is there.
func TestHelpTextsFit(t *testing.T) {
	t.Setenv("COLUMNS", "")
	for _, args := range [][]string{{"check", "--help"}, {"run", "--help"}, {"help", "validate"}, {"state", "reset", "--help"}} {
		r := cli(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: %s", args, r)
		}
		long, _, _ := strings.Cut(r.stdout, "\n\nUsage:")
		for _, line := range strings.Split(long, "\n") {
			if len([]rune(line)) > 80 {
				t.Errorf("%v: line wider than 80 columns: %q", args, line)
			}
		}
	}
	r := cli(t, "check", "--help")
	if !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), "Exit 0 when all is well, 1 when a check failed, 2 for a configuration error.") {
		t.Fatalf("check's help text is cut off:\n%s", r)
	}
}

func TestReflow(t *testing.T) {
	got := reflow("one two three\nfour five\n\n  an example line that stays as it is\nsix", 10)
	want := "one two\nthree four\nfive\n\n  an example line that stays as it is\nsix"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
