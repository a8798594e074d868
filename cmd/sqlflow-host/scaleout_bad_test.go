package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// An unreachable --db: every job command exits 1 naming the database and
// the reason, before doing anything.
func TestJobCommandsUnreachableDB(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	dsn := "postgres://postgres:s3cret-pw@" + addr + "/jobs?sslmode=disable&connect_timeout=2"
	p := write(t, t.TempDir(), "p.yaml", "version: 1\nsources:\n  s: {type: memory, rows: [{id: 1}]}\ndestinations:\n  d: {type: memory}\nflows:\n  - {from: s, to: d, schedule: \"@every 1m\"}\n")
	for _, args := range [][]string{
		{"worker", "--db", dsn},
		{"submit", p, "--db", dsn},
		{"schedule", p, "--db", dsn},
		{"jobs", "list", "--db", dsn},
	} {
		r := cli(t, args...)
		expect(t, r, 1, "cannot reach the job database "+addr+"/jobs", "connection refused")
		if strings.Contains(r.stdout+r.stderr, "s3cret-pw") {
			t.Fatalf("%v: the password was printed:\n%s", args, r)
		}
	}
	expect(t, cli(t, "jobs", "list"), 2, "--db is required")
	expect(t, cli(t, "jobs", "show", "abc", "--db", dsn), 2, "a job id is a positive number")
}

// A schedule that is not a cron expression is refused by validate with
// its file:line, and schedule refuses a file whose flows have none.
func TestScheduleBadCron(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", "version: 1\nsources:\n  s: {type: memory, rows: [{id: 1}]}\ndestinations:\n  d: {type: memory}\nflows:\n  - {from: s, to: d, schedule: \"61 * * * *\"}\n")
	expect(t, cli(t, "validate", p), 2, "p.yaml:7:", "flows[0].schedule", `"61 * * * *" is not a valid schedule`, "a cron expression of 5 fields")
	q := write(t, dir, "q.yaml", "version: 1\nsources:\n  s: {type: memory, rows: [{id: 1}]}\ndestinations:\n  d: {type: memory}\nflows:\n  - {from: s, to: d}\n")
	expect(t, cli(t, "schedule", q, "--db", "postgres://127.0.0.1:1/x"), 2, "no flow has a schedule")
}

// A job whose flow needs a plugin the worker lacks fails PERMANENT (River
// cancels it, no retry) naming the plugin and the worker; a pipeline file
// changed after submit does not change the job; a flow submitted twice
// while waiting is enqueued once.
func TestWorkerMissingPluginAndChangedFile(t *testing.T) {
	dsn := testenv.Postgres(t)
	bin := hostBinary(t)
	schema := jobSchema(t, dsn, "so_bad")
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
name: bad
sources:
  gen: {type: memory, table_name: events, generate: {rows: 10, seed: 1}}
destinations:
  out: {type: csv, path: out}
  odd: {type: nosuchplugin}
flows:
  - {name: good, from: gen, to: out, target: good.csv}
  - {name: lacking, from: gen, to: odd, target: x}
`)
	expect(t, cli(t, "submit", p, "--db", dsn, "--db-schema", schema), 0, "good", "lacking", "enqueued")
	expect(t, cli(t, "submit", p, "--select", "good", "--db", dsn, "--db-schema", schema), 0, "already queued or running")
	// The file changes after submit: the job runs what was submitted.
	write(t, dir, "p.yaml", strings.Replace(mustRead(t, p), "rows: 10,", "rows: 99,", 1))
	w := startWorker(t, bin, dsn, schema, "wbad", "--metrics-addr", "127.0.0.1:0", "--ui-addr", "127.0.0.1:0")
	waitFor(t, 2*time.Minute, "both jobs to finish", func() bool {
		return pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".river_job WHERE state IN ('completed', 'cancelled')") == 2
	})
	// The worker's metrics: one attempt completed, one cancelled.
	m := regexp.MustCompile(`serving metrics: addr=(http://\S+/metrics)`).FindStringSubmatch(w.logText(t))
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", w.logText(t))
	}
	waitFor(t, time.Minute, "the metrics to count both jobs", func() bool {
		resp, err := http.Get(m[1])
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), `sqlflow_worker_jobs_total{outcome="completed"} 1`) &&
			strings.Contains(string(body), `sqlflow_worker_jobs_total{outcome="cancelled"} 1`) &&
			strings.Contains(string(body), "sqlflow_worker_jobs_running 0") &&
			strings.Contains(string(body), `sqlflow_queue_jobs{state="cancelled"} 1`)
	})
	if got := strings.Count(mustRead(t, filepath.Join(dir, "out", "good.csv")), "\n") - 1; got != 10 {
		t.Errorf("good.csv holds %d rows; the submitted file said 10", got)
	}
	r := cli(t, "jobs", "list", "--db", dsn, "--db-schema", schema, "--output", "json")
	expect(t, r, 0, `"state": "cancelled"`, `"flow": "lacking"`, `"state": "completed"`)
	for _, want := range []string{`worker wbad`, `unknown connector type \"nosuchplugin\"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("jobs list lacks %s:\n%s", want, r.stdout)
		}
	}
	if n := pgValue[int64](t, dsn, "SELECT max(attempt) FROM "+schema+".river_job WHERE args->>'flow' = 'lacking'"); n != 1 {
		t.Errorf("the PERMANENT failure was attempted %d times, want 1", n)
	}
	id := pgValue[int64](t, dsn, "SELECT id FROM "+schema+".river_job WHERE args->>'flow' = 'lacking'")
	expect(t, cli(t, "jobs", "show", strconv.FormatInt(id, 10), "--db", dsn, "--db-schema", schema), 0, "cancelled", "nosuchplugin", "wbad")
	expect(t, cli(t, "jobs", "retry", strconv.FormatInt(id, 10), "--db", dsn, "--db-schema", schema), 0, "available")
	// River's web UI, served by the worker on its job database: the page,
	// and its API listing the completed job.
	u := regexp.MustCompile(`serving the jobs UI: addr=(http://\S+/)`).FindStringSubmatch(w.logText(t))
	if u == nil {
		t.Fatalf("no jobs UI address in the log:\n%s", w.logText(t))
	}
	for path, want := range map[string]string{"": "<html", "api/jobs?state=completed&limit=20": `"kind":"sqlflow_flow"`} {
		resp, err := http.Get(u[1] + path)
		if err != nil {
			t.Fatalf("jobs UI %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("jobs UI /%s: %s, body lacks %s:\n%.2000s", path, resp.Status, want, body)
		}
	}
	_ = os.Remove
}

// Workers keep incremental cursors in the job database: a second job of
// the flow, on another worker, reads only the new rows, and state list
// --db shows the cursor; no state directory is written.
func TestWorkersKeepCursorsInPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	bin := hostBinary(t)
	schema := jobSchema(t, dsn, "so_state")
	dir := t.TempDir()
	write(t, dir, "in.csv", "id,name\n1,a\n2,b\n")
	p := write(t, dir, "inc.yaml", "version: 1\nname: inc\nsources:\n  file: {type: csv, path: in.csv}\ndestinations:\n  out: {type: csv, path: out}\nflows:\n  - {name: events, from: file, to: out, target: events.csv, mode: append, incremental: {cursor: id}}\n")
	db := []string{"--db", dsn, "--db-schema", schema}
	done := func(n int64) func() bool {
		return func() bool {
			return pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".river_job WHERE state = 'completed'") == n
		}
	}
	expect(t, cli(t, append([]string{"submit", p}, db...)...), 0, "enqueued")
	w1 := startWorker(t, bin, dsn, schema, "c1")
	waitFor(t, time.Minute, "the first job", done(1))
	if err := w1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-w1.done
	w1.done <- nil
	write(t, dir, "in.csv", "id,name\n1,a\n2,b\n3,c\n")
	expect(t, cli(t, append([]string{"submit", p}, db...)...), 0, "enqueued")
	startWorker(t, bin, dsn, schema, "c2")
	waitFor(t, time.Minute, "the second job", done(2))
	if got := mustRead(t, filepath.Join(dir, "out", "events.csv")); got != "id,name\n1,a\n2,b\n3,c\n" {
		t.Fatalf("events.csv after two runs on two workers:\n%s", got)
	}
	expect(t, cli(t, append([]string{"state", "list", p}, db...)...), 0, "table "+schema+".sqlflow_state", "events  id")
	if _, err := os.Stat(filepath.Join(dir, ".sqlflow")); err == nil {
		t.Fatal("a worker wrote a state directory beside the file")
	}
}

// jobs cancel of a running flow stops it on its worker: the write is
// aborted (the target is not written), the job ends cancelled, not
// retried, and the worker goes on.
func TestJobsCancelRunningFlow(t *testing.T) {
	dsn := testenv.Postgres(t)
	bin := hostBinary(t)
	schema := jobSchema(t, dsn, "so_cancel")
	dir := t.TempDir()
	p := write(t, dir, "slow.yaml", "version: 1\nname: slow\nsources:\n  gen: {type: memory, table_name: events, generate: {rows: 1000, seed: 1}, faults: {latency: 1.0}}\ndestinations:\n  out: {type: csv, path: out}\nflows:\n  - {name: slow, from: gen, to: out, target: slow.csv}\n")
	db := []string{"--db", dsn, "--db-schema", schema}
	expect(t, cli(t, append([]string{"submit", p}, db...)...), 0, "enqueued")
	w := startWorker(t, bin, dsn, schema, "k1", "--page-rows", "100")
	waitFor(t, time.Minute, "the flow to run", func() bool {
		return pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".sqlflow_runs WHERE status = 'running'") == 1
	})
	id := pgValue[int64](t, dsn, "SELECT id FROM "+schema+".river_job")
	expect(t, cli(t, append([]string{"jobs", "cancel", strconv.FormatInt(id, 10)}, db...)...), 0)
	waitFor(t, time.Minute, "the job to be cancelled", func() bool {
		return pgValue[string](t, dsn, "SELECT state::text FROM "+schema+".river_job") == "cancelled"
	})
	waitFor(t, time.Minute, "the run to be recorded cancelled", func() bool {
		return pgValue[string](t, dsn, "SELECT status FROM "+schema+".sqlflow_runs") == "cancelled"
	})
	if _, err := os.Stat(filepath.Join(dir, "out", "slow.csv")); err == nil {
		t.Fatal("the cancelled flow wrote its target")
	}
	if !strings.Contains(w.logText(t), "flow cancelled (jobs cancel); its write was aborted") {
		t.Fatalf("no cancel line in the worker's log:\n%s", w.logText(t))
	}
}
