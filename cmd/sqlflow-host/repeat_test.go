package main

// Runs that repeat (issue 15): a pipeline's identity, its incremental
// state across runs, from other working directories, and how validate,
// run and check agree.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// flowRows returns the ROWS column of flow's summary line.
func flowRows(t *testing.T, r result, flow string) string {
	t.Helper()
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == flow {
			return f[1]
		}
	}
	t.Fatalf("no summary line for flow %s:\n%s", flow, r)
	return ""
}

// csvLines returns the lines of a csv file (header included), 0 when it
// does not exist.
func csvLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// incrementalProject writes a project directory holding events.csv (rows
// ids 1..n) and pipeline.yaml with an incremental flow named load into
// out/events.csv, both with relative paths.
func incrementalProject(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := 1; i <= n; i++ {
		b.WriteString(itoa(i) + ",row" + itoa(i) + "\n")
	}
	write(t, dir, "events.csv", b.String())
	return write(t, dir, "pipeline.yaml", `version: 1
sources:
  src: {type: csv, path: events.csv}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: load, from: src, to: out, target: events.csv, incremental: {cursor: id}}
`)
}

// Two pipelines in different directories, both pipeline.yaml with a flow
// named load, keep their own state; a second and third run of each, from
// other working directories, read nothing new and append nothing.
func TestTwoPipelinesSameNamesKeepTheirOwnState(t *testing.T) {
	a := incrementalProject(t, t.TempDir(), 5)
	b := incrementalProject(t, t.TempDir(), 7)
	elsewhere := t.TempDir()
	for run := 1; run <= 3; run++ {
		for _, c := range []struct {
			p    string
			rows int
		}{{a, 5}, {b, 7}} {
			// Run 1 from the pipeline's directory, 2 from elsewhere, 3 from /.
			switch run {
			case 1:
				t.Chdir(filepath.Dir(c.p))
			case 2:
				t.Chdir(elsewhere)
			case 3:
				t.Chdir("/")
			}
			r := cli(t, "run", c.p)
			expect(t, r, 0)
			want := "0"
			if run == 1 {
				want = itoa(c.rows)
			}
			if got := flowRows(t, r, "load"); got != want {
				t.Fatalf("run %d of %s read %s rows, want %s:\n%s", run, c.p, got, want, r)
			}
			if got := csvLines(t, filepath.Join(filepath.Dir(c.p), "out", "events.csv")); got != 1+c.rows {
				t.Fatalf("run %d of %s: the target holds %d lines, want %d", run, c.p, got, 1+c.rows)
			}
		}
	}
	// The state lives beside each file, under the pipeline's name.
	for _, p := range []string{a, b} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), ".sqlflow", "state", "pipeline", "load.json")); err != nil {
			t.Fatalf("state not beside the pipeline file: %v", err)
		}
	}
	// New rows in one source: only they are read.
	write(t, filepath.Dir(a), "events.csv", "id,name\n1,a\n5,e\n6,f\n7,g\n")
	r := cli(t, "run", a)
	expect(t, r, 0)
	if got := flowRows(t, r, "load"); got != "2" {
		t.Fatalf("read %s rows, want the 2 new ones:\n%s", got, r)
	}
}

// A cursor stored for another configuration is not applied: the flow
// fails before reading, exit 2, naming what changed and the command that
// resets it; after the reset the flow reads from the start.
func TestStoredCursorOfAnotherConfigurationIsRefused(t *testing.T) {
	dir := t.TempDir()
	p := incrementalProject(t, dir, 4)
	write(t, dir, "other.csv", "id,name\n1,x\n2,y\n")
	expect(t, cli(t, "run", p), 0, "ok")
	os.WriteFile(p, []byte(strings.Replace(mustRead(t, p), "path: events.csv", "path: other.csv", 1)), 0o644)
	r := cli(t, "run", p)
	expect(t, r, 2, `source path: was "events.csv", now "other.csv"`, "sqlflow-host state reset "+p+" load")
	if got := csvLines(t, filepath.Join(dir, "out", "events.csv")); got != 5 {
		t.Fatalf("a refused flow changed the target: %d lines", got)
	}
	expect(t, cli(t, "state", "reset", p, "load"), 0, "flow load: removed state file")
	r = cli(t, "run", p)
	expect(t, r, 0)
	if got := flowRows(t, r, "load"); got != "2" {
		t.Fatalf("after reset read %s rows, want 2:\n%s", got, r)
	}
	// A changed cursor column is a change of owner too.
	os.WriteFile(p, []byte(strings.Replace(mustRead(t, p), "cursor: id", "cursor: name", 1)), 0o644)
	expect(t, cli(t, "run", p), 2, `cursor column: was "id", now "name"`)
}

// State files that cannot be used stop their flow with exit 2, naming the
// file, and nothing is read or written.
func TestBadStateFiles(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"truncated", `{"version": 2, "owner": {"pipeline": "pipeline", "fl`, "truncated"},
		{"not JSON", "garbage", "not valid JSON"},
		{"newer", `{"version": 3, "owner": {"cursor_field": "id"}, "cursor": 1}`, "newer sqlflow-host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := incrementalProject(t, dir, 3)
			state := write(t, dir, ".sqlflow/state/pipeline/load.json", tc.data)
			r := cli(t, "run", p)
			expect(t, r, 2, state, tc.want)
			if csvLines(t, filepath.Join(dir, "out", "events.csv")) != 0 {
				t.Fatal("a flow with a bad state file wrote its target")
			}
			if mustRead(t, state) != tc.data {
				t.Fatal("the bad state file was changed")
			}
		})
	}
}

// state list, show and reset; reset of an unknown flow names the known
// ones; --select runs a subset; --full-refresh ignores the cursor and
// stores the new one.
func TestStateCommandsSelectAndFullRefresh(t *testing.T) {
	dir := t.TempDir()
	p := incrementalProject(t, dir, 3)
	write(t, dir, "more.csv", "id,name\n1,a\n2,b\n")
	os.WriteFile(p, []byte(mustRead(t, p)+`  - {name: more, from: src2, to: out, target: more.csv, incremental: {cursor: id}}
`), 0o644)
	os.WriteFile(p, []byte(strings.Replace(mustRead(t, p), "  src: {type: csv, path: events.csv}", "  src: {type: csv, path: events.csv}\n  src2: {type: csv, path: more.csv}", 1)), 0o644)
	r := cli(t, "run", "--select", "load", p)
	expect(t, r, 0)
	if strings.Contains(r.stdout, "more") {
		t.Fatalf("an unselected flow ran:\n%s", r)
	}
	r = cli(t, "state", "list", p)
	expect(t, r, 0, "load", "3", "more", "(none: the next run reads everything)")
	r = cli(t, "state", "show", p, "load")
	expect(t, r, 0, `"cursor": 3`, `"path": "events.csv"`, `"cursor_field": "id"`)
	expect(t, cli(t, "state", "show", p, "lod"), 2, `no flow "lod" (did you mean load?)`, "its flows are load, more")
	expect(t, cli(t, "state", "reset", p, "nope"), 2, `no flow "nope"`, "its flows are load, more")
	// --full-refresh reads everything again (and appends it again) and
	// stores the new greatest value.
	write(t, dir, "events.csv", "id,name\n1,a\n2,b\n3,c\n4,d\n")
	r = cli(t, "run", "--select", "load", "--full-refresh", p)
	expect(t, r, 0)
	if got := flowRows(t, r, "load"); got != "4" {
		t.Fatalf("full refresh read %s rows, want 4:\n%s", got, r)
	}
	expect(t, cli(t, "state", "show", p, "load"), 0, `"cursor": 4`)
	// reset of every flow prints what it removed.
	expect(t, cli(t, "run", p), 0)
	r = cli(t, "state", "reset", p)
	expect(t, r, 0, "flow load: removed state file", "flow more: removed state file")
	expect(t, cli(t, "state", "reset", p), 0, "no stored state to remove")
}

// --select starts no plugin that no selected flow uses: a flow whose
// connector type has no plugin does not stop another from running.
func TestSelectStartsOnlyWhatItNeeds(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  a: {type: memory, table_name: t, generate: {rows: 10, seed: 1}}
  ghost: {type: nosuchplugin}
destinations:
  m: {type: memory}
flows:
  - {name: good, from: a, to: m, target: t}
  - {name: bad, from: ghost, to: m, target: u}
`)
	expect(t, cli(t, "run", "--select", "good", p), 0, "10 rows")
	// Without --select the broken connector fails only its own flow.
	r := cli(t, "run", p)
	expect(t, r, 2, "good", "10 rows", "bad", "FAILED", "nosuchplugin")
	expect(t, cli(t, "run", "--select", "goood", p), 2, `no flow "goood" (did you mean good?)`)
}

// One source that fails (a ragged CSV) fails only its flows; the healthy
// flow runs, the summary lists both, the exit status is 1.
func TestRaggedSourceBesideHealthyFlow(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.csv", "id,name\n1,a\n2,b,extra\n")
	write(t, dir, "good.csv", "id,name\n1,a\n2,b\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  bad: {type: csv, path: bad.csv}
  good: {type: csv, path: good.csv}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: ragged, from: bad, to: out, target: bad.csv}
  - {name: healthy, from: good, to: out, target: good.csv}
`)
	r := cli(t, "run", p)
	expect(t, r, 1, "ragged", "FAILED", "healthy", "error: flow \"ragged\":")
	if got := flowRows(t, r, "healthy"); got != "2" {
		t.Fatalf("the healthy flow moved %s rows:\n%s", got, r)
	}
	if csvLines(t, filepath.Join(dir, "out", "good.csv")) != 3 || csvLines(t, filepath.Join(dir, "out", "bad.csv")) != 0 {
		t.Fatalf("targets: good %d lines, bad %d lines", csvLines(t, filepath.Join(dir, "out", "good.csv")), csvLines(t, filepath.Join(dir, "out", "bad.csv")))
	}
}

// validate refuses what run would refuse, all at once, in file order,
// each at its file:line:col.
func TestValidateReportsWhatRunWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.csv", "id,name\n1,x\n")
	mk := write(t, dir, "make.yaml", `version: 1
sources: {g: {type: memory, table_name: t, generate: {rows: 3, seed: 1}}}
destinations: {lake: {type: parquet, path: .}}
flows: [{from: g, to: lake, target: data.parquet}]
`)
	expect(t, cli(t, "run", mk), 0)
	p := write(t, dir, "p.yaml", `version: 1
sources:
  mem: {type: memory, table_name: numbers, generate: {rows: 5, seed: 1}}
  pq: {type: parquet, path: data.parquet}
  csvsrc: {type: csv, path: a.csv, delimter: ";"}
destinations:
  out: {type: csv, path: out/single.csv}
  m: {type: memory}
flows:
  - {name: f1, from: mem, stream: numbrs, to: m, target: t1}
  - {name: f2, from: pq, to: m, target: t2, incremental: {cursor: id}}
  - {name: f3, from: mem, to: out, target: other.csv}
  - {name: f4, from: mem, to: m, target: t4, incremental: {cursor: nope}}
  - {name: f5, from: mem, to: m, target: t5, mode: replace, incremental: {cursor: id}}
`)
	r := cli(t, "validate", p)
	expect(t, r, 2)
	want := []string{
		`p.yaml:5:46: sources.csvsrc.delimter: unknown key "delimter" (did you mean delimiter?)`,
		`p.yaml:10:35: flows[0].stream: source "mem": the source has no stream "numbrs" (did you mean numbers?); its streams are numbers`,
		`p.yaml:11:58: flows[1].incremental: source "pq" (parquet) does not support incremental reads`,
		`p.yaml:12:`, `flows[2].target: destination "out": `,
		`p.yaml:13:59: flows[3].incremental.cursor: stream "numbers" of source "mem" has no column "nope"`,
		`p.yaml:14:52: flows[4].mode: replace cannot be used with incremental`,
	}
	at := -1
	for _, w := range want {
		i := strings.Index(r.stderr, w)
		if i < 0 {
			t.Fatalf("validate lacks %q:\n%s", w, r)
		}
		if i < at {
			t.Fatalf("%q is out of file order:\n%s", w, r)
		}
		at = i
	}
	// run refuses f5 at once, before any plugin starts.
	expect(t, cli(t, "run", p), 2, "replace cannot be used with incremental")
}

// A YAML syntax error names the line holding the problem: a tab on line 6
// is reported on line 6.
func TestYAMLTabLine(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", "version: 1\nsources:\n  a:\n    type: memory\n    table_name: t\n\tgenerate: {rows: 1}\ndestinations: {m: {type: memory}}\nflows: [{from: a, to: m}]\n")
	expect(t, cli(t, "validate", p), 2, "p.yaml:6:1: invalid YAML: found a tab character")
}

// Relative paths in a pipeline file are relative to the file, whatever
// directory the host runs from; a missing file is shown as written and as
// resolved.
func TestRelativePathsFollowTheFile(t *testing.T) {
	proj := t.TempDir()
	write(t, proj, "data/in.csv", "id\n1\n2\n")
	p := write(t, proj, "conf/p.yaml", `version: 1
sources:
  src: {type: csv, path: ../data/in.csv}
  gone: {type: csv, path: ../data/missing.csv}
destinations:
  out: {type: csv, path: ../out}
flows:
  - {name: copy, from: src, to: out, target: in.csv}
  - {name: lost, from: gone, to: out, target: missing.csv}
`)
	t.Chdir(t.TempDir())
	r := cli(t, "run", p)
	expect(t, r, 1, `"../data/missing.csv" (resolved to `+filepath.Join(proj, "data", "missing.csv")+`)`)
	if got := flowRows(t, r, "copy"); got != "2" {
		t.Fatalf("copy moved %s rows:\n%s", got, r)
	}
	if csvLines(t, filepath.Join(proj, "out", "in.csv")) != 3 {
		t.Fatal("the target is not beside the file")
	}
}

// The summary names every flow with its status; failed flows show their
// first error line.
func TestSummaryListsEveryFlow(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  a: {type: memory, table_name: t, generate: {rows: 3, seed: 1}}
  missing: {type: csv, path: nope.csv}
destinations:
  m: {type: memory}
flows:
  - {name: one, from: a, to: m, target: t}
  - {name: two, from: missing, to: m, target: u}
`)
	r := cli(t, "run", p)
	expect(t, r, 1)
	if !regexp.MustCompile(`(?m)^one\s+3\s.*ok`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^two\s+0\s.*FAILED: .*nope\.csv`).MatchString(r.stdout) {
		t.Fatalf("summary:\n%s", r)
	}
}

// A plugin written from the .proto that gets a page's facts wrong is
// refused with a PERMANENT protocol error naming it; its target is left
// as it was; a correct one runs.
func TestRawPluginPagesAreChecked(t *testing.T) {
	plugins := pluginsWith(t, "rawplugin", "raw")
	for _, tc := range []struct{ fault, want string }{
		{"num_rows_unset", "num_rows is 0 (num_rows left unset?) but its Arrow record batch holds 3 rows"},
		{"num_rows_wrong", "num_rows is 5 but its Arrow record batch holds 3 rows"},
		{"no_data", "num_rows is 3 but the page holds no Arrow data"},
		{"schema_change", "page 2 of stream \"numbers\" that the host refuses: its schema differs"},
		{"none", ""},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "out/numbers.csv", "id\n100\n")
			p := write(t, dir, "p.yaml", `version: 1
sources:
  raw: {type: raw, fault: `+tc.fault+`}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: f, from: raw, to: out, target: numbers.csv}
`)
			r := cliDir(t, plugins, "run", p)
			if tc.want == "" {
				expect(t, r, 0)
				if csvLines(t, filepath.Join(dir, "out", "numbers.csv")) != 7 {
					t.Fatalf("the correct plugin's rows did not all arrive:\n%s", r)
				}
				return
			}
			expect(t, r, 1, "protocol error: source \"raw\" (plugin sqlflow-plugin-raw)", tc.want)
			if got := mustRead(t, filepath.Join(dir, "out", "numbers.csv")); got != "id\n100\n" {
				t.Fatalf("the target changed: %q", got)
			}
			if strings.Contains(r.stderr, "Retrying") {
				t.Fatalf("a protocol error was retried:\n%s", r)
			}
		})
	}
}

// A memory source plugin SIGKILLed mid-run is restarted and the read
// resumed under the memory profile's defaults: the flow succeeds with
// every row once.
func TestMemorySourceKilledMidRunIsRestarted(t *testing.T) {
	bin := hostBinary(t)
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: events, generate: {rows: 20000, seed: 5}, faults: {latency: 0.02}}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: slow, from: gen, to: out, target: events.csv}
`)
	cmd := exec.Command(bin, "--plugins-dir", pluginsDir, "run", "--page-rows", "200", p)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the memory plugin once staging shows the write under way.
	killed := false
	deadline := time.Now().Add(30 * time.Second)
	for !killed && time.Now().Before(deadline) {
		if staged, _ := filepath.Glob(filepath.Join(dir, "out", ".sqlflow-staging-*", "*")); len(staged) > 3 {
			for _, pid := range pluginPids(t, cmd.Process.Pid) {
				if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmdline), "sqlflow-plugin-memory") {
					killed = syscall.Kill(pid, syscall.SIGKILL) == nil
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := cmd.Wait()
	if !killed {
		t.Fatalf("the memory plugin was never killed\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("the run failed after the kill: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "1 plugin restart") {
		t.Fatalf("no restart in the summary:\n%s", stdout.String())
	}
	if got := csvLines(t, filepath.Join(dir, "out", "events.csv")); got != 20001 {
		t.Fatalf("the target holds %d lines, want 20001", got)
	}
}

// check reaches the systems, then checks each flow: its stream exists
// and its incremental cursor is one of the stream's columns.
func TestCheckVerifiesFlows(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "events.csv", "id,name\n1,a\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  src: {type: csv, path: events.csv}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: good, from: src, to: out, target: a.csv, incremental: {cursor: id}}
  - {name: nostream, from: src, stream: evnts, to: out, target: b.csv}
  - {name: nocursor, from: src, to: out, target: c.csv, incremental: {cursor: updated}}
`)
	r := cli(t, "check", p)
	expect(t, r, 2, `the source has no stream "evnts" (did you mean events?)`, `has no column "updated"`)
	if !regexp.MustCompile(`(?m)^flow\s+good\s+ok`).MatchString(r.stdout) {
		t.Fatalf("the good flow is not reported ok:\n%s", r)
	}
}
