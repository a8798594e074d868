package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Values from the environment and URL userinfo never reach the output of
// validate, check or run (errors, summaries, debug logs), and a huge value
// is quoted cut short (issue 16: 4 and 5).
func TestSecretsStayOutOfTheOutput(t *testing.T) {
	havePlugin(t, "rest")
	t.Setenv("SECRET_URL_PW", "ENVURLPWSSS")
	t.Setenv("SECRET_DELIM", "ENVTOKTTT")
	dir := t.TempDir()
	write(t, dir, "in.csv", "id\n1\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  api: {type: rest, url: "http://bob:${SECRET_URL_PW}@127.0.0.1:1/v1/items", resilience: {retry_attempts: 1}}
  file: {type: csv, path: in.csv, delimiter: "${SECRET_DELIM}"}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: a, from: api, to: out, target: a.csv}
  - {name: b, from: file, to: out, target: b.csv}
`)
	for _, args := range [][]string{
		{"validate", p},
		{"--log-level", "debug", "check", p},
		{"--log-level", "debug", "run", p},
	} {
		r := cli(t, args...)
		if r.code == 0 {
			t.Fatalf("%v succeeded:\n%s", args, r)
		}
		for _, secret := range []string{"ENVURLPWSSS", "ENVTOKTTT"} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("%v printed %s:\n%s", args, secret, r)
			}
		}
	}
	// The delimiter's error still says what is wrong, without the value.
	expect(t, cli(t, "validate", p), 2, "sources.file.delimiter:", `"***"`)

	long := strings.Repeat("q", 100000)
	p2 := write(t, dir, "p2.yaml", "version: 1\nsources:\n  a: {type: "+long+"}\ndestinations:\n  b: {type: memory}\nflows:\n  - {from: a, to: b}\n")
	r := cli(t, "validate", p2)
	expect(t, r, 2, "(100000 bytes)")
	if len(r.stderr) > 2000 {
		t.Fatalf("a 100,000-byte value made a %d-byte error:\n%.500s", len(r.stderr), r.stderr)
	}
}

// The metrics endpoint has no authentication: run refuses an address other
// machines can reach unless --metrics-public says so, before any plugin
// starts.
func TestMetricsAddrMustBeLoopback(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", `version: 1
sources: {a: {type: memory, table_name: t, generate: {rows: 3, seed: 1}}}
destinations: {m: {type: memory}}
flows: [{from: a, to: m}]
`)
	expect(t, cli(t, "run", "--metrics-addr", ":0", p), 2, "--metrics-public", "every interface")
	expect(t, cli(t, "run", "--metrics-addr", "0.0.0.0:0", "--metrics-public", p), 0, "3 rows")
	expect(t, cli(t, "run", "--metrics-addr", "127.0.0.1:0", p), 0, "3 rows")
}

// A flow that appends into the file its source reads would double the
// file on every run: refused by validate and run (issue 16: 11).
func TestSourceAndTargetOnOneFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "data/events.csv", "id\n1\n2\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  src: {type: csv, path: data/events.csv}
  all: {type: csv, path: "data/*.csv"}
destinations:
  same: {type: csv, path: data}
flows:
  - {name: loop, from: src, to: same, target: events.csv, mode: append}
  - {name: glob, from: all, to: same, target: more.csv, mode: append}
`)
	expect(t, cli(t, "validate", p), 2, `flow "loop" reads `+filepath.Join(dir, "data", "events.csv")+` and appends into it`, `flow "glob" reads`)
	expect(t, cli(t, "run", p), 2, "appends into it")
	if got := mustRead(t, filepath.Join(dir, "data", "events.csv")); got != "id\n1\n2\n" {
		t.Fatalf("the file changed: %q", got)
	}
}
