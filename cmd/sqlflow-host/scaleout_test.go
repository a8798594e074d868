package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// jobSchema returns a fresh schema for one test's job tables (and
// targets), dropped at the end, so tests run beside others.
func jobSchema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	schema := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			conn.Close(ctx)
		}
	})
	return schema
}

// pgQuery runs a one-value query in the test database.
func pgValue[T any](t testing.TB, dsn, q string, args ...any) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// worker is a worker process of the built binary.
type worker struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

func startWorker(t *testing.T, bin, dsn, schema, name string, extra ...string) *worker {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--plugins-dir", pluginsDir, "worker", "--db", dsn, "--db-schema", schema, "--name", name}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &worker{name: name, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { w.done <- cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-w.done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of worker %s:\n%s", name, b)
		}
	})
	return w
}

func (w *worker) logText(t *testing.T) string {
	b, _ := os.ReadFile(w.log)
	return string(b)
}

// waitFor polls cond every 100 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restItems serves a JSON array of n items at /v1/items.
func restItems(t *testing.T, n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": %d, "name": "item %d"}`, i, i)
	}
	b.WriteString("]")
	body := b.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Three workers, thirty flows of four connector kinds; one worker is
// SIGKILLed mid-flow and another SIGTERMed: every job completes, every
// target holds its rows exactly once, and no staging is left.
func TestScaleOutWorkersSurviveKillAndStop(t *testing.T) {
	dsn := testenv.Postgres(t)
	for _, p := range []string{"memory", "csv", "postgres", "rest"} {
		havePlugin(t, p)
	}
	bin := hostBinary(t)
	schema := jobSchema(t, dsn, "so_kill")
	dir := t.TempDir()
	pgExec(t, dsn, "CREATE SCHEMA "+schema+"; CREATE TABLE "+schema+".src AS SELECT g AS id, 'n'||g AS name FROM generate_series(1, 300) g")
	var csvRows strings.Builder
	csvRows.WriteString("id,name\n")
	for i := 1; i <= 120; i++ {
		fmt.Fprintf(&csvRows, "%d,row %d\n", i, i)
	}
	write(t, dir, "in.csv", csvRows.String())
	api := restItems(t, 75)

	var y strings.Builder
	fmt.Fprintf(&y, `version: 1
name: scale
sources:
  slow: {type: memory, table_name: events, generate: {rows: 2000, seed: 1}, faults: {latency: 0.1}}
  file: {type: csv, path: in.csv}
  db: {type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", query: "SELECT id, name FROM %s.src"}
  api: {type: rest, url: "%s/v1/items", resilience: {rate_limit: 6000}}
destinations:
  pg: {type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", schema: %s}
  out: {type: csv, path: out}
flows:
`, schema, api, schema)
	type target struct {
		pg   bool
		name string
		rows int
	}
	var targets []target
	add := func(name, from, to string, rows int) {
		fmt.Fprintf(&y, "  - {name: %s, from: %s, to: %s, target: %s}\n", name, from, to, name)
		targets = append(targets, target{pg: to == "pg", name: name, rows: rows})
	}
	for i := range 12 {
		add(fmt.Sprintf("mem_%02d", i), "slow", "pg", 2000)
	}
	for i := range 6 {
		add(fmt.Sprintf("csv_%02d", i), "file", "pg", 120)
	}
	for i := range 6 {
		add(fmt.Sprintf("db_%02d.csv", i), "db", "out", 300)
	}
	for i := range 6 {
		add(fmt.Sprintf("api_%02d", i), "api", "pg", 75)
	}
	p := write(t, dir, "scale.yaml", fixDotNames(y.String()))

	r := cli(t, "submit", p, "--db", dsn, "--db-schema", schema)
	expect(t, r, 0)
	if n := strings.Count(r.stdout, "enqueued"); n != 30 {
		t.Fatalf("submit enqueued %d flows, want 30:\n%s", n, r)
	}
	common := []string{"--concurrency", "2", "--lease", "3s", "--stop-timeout", "1s", "--page-rows", "100"}
	w1 := startWorker(t, bin, dsn, schema, "w1", common...)
	w2 := startWorker(t, bin, dsn, schema, "w2", common...)
	w3 := startWorker(t, bin, dsn, schema, "w3", common...)

	running := func(name string) bool {
		return pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".sqlflow_runs WHERE worker = $1 AND status = 'running' AND flow LIKE 'mem_%'", name) > 0
	}
	waitFor(t, time.Minute, "w1 and w2 to be running slow (2 s) flows", func() bool { return running("w1") && running("w2") })
	if err := w1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := w2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w2.done:
		w2.done <- err
		if err != nil {
			t.Fatalf("SIGTERMed worker: %v\n%s", err, w2.logText(t))
		}
	case <-time.After(time.Minute):
		t.Fatal("SIGTERMed worker did not exit within a minute")
	}
	t.Cleanup(func() {
		if t.Failed() {
			r := cli(t, "jobs", "list", "--db", dsn, "--db-schema", schema)
			t.Logf("jobs:\n%s", r.stdout)
		}
	})
	waitFor(t, 4*time.Minute, "all 30 jobs to complete", func() bool {
		return pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".river_job WHERE state = 'completed'") == 30
	})

	for _, tg := range targets {
		var got int
		if tg.pg {
			got = int(pgValue[int64](t, dsn, "SELECT count(*) FROM "+pgx.Identifier{schema, tg.name}.Sanitize()))
		} else {
			data := mustRead(t, filepath.Join(dir, "out", tg.name))
			got = strings.Count(data, "\n") - 1
		}
		if got != tg.rows {
			t.Errorf("target %s holds %d rows, want %d", tg.name, got, tg.rows)
		}
	}
	if n := pgValue[int64](t, dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'sqlflow_stage_%'", schema); n != 0 {
		t.Errorf("%d staging tables left in %s", n, schema)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".sqlflow-staging-") {
			continue
		}
		// A committed write keeps only its manifest, marked committed (the
		// record that makes a repeated commit a no-op); staged data would
		// be part files or a manifest still "staged".
		files, _ := os.ReadDir(filepath.Join(dir, "out", e.Name()))
		m := mustRead(t, filepath.Join(dir, "out", e.Name(), "manifest.json"))
		if len(files) != 1 || !strings.Contains(m, `"state": "committed"`) {
			t.Errorf("staging left in the csv destination: %s (%d files)", e.Name(), len(files))
		}
	}
	if n := pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".sqlflow_runs WHERE worker = 'w1' AND status = 'abandoned'"); n < 1 {
		t.Errorf("no run of the killed worker w1 was taken over")
	}
	if !strings.Contains(w3.logText(t)+w2.logText(t), "taking over a flow whose worker stopped renewing its lease") {
		t.Errorf("no worker logged taking over the killed worker's job")
	}
	if n := pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".river_job WHERE state <> 'completed'"); n != 0 {
		t.Errorf("%d jobs not completed", n)
	}
}

// fixDotNames turns flow names such as db_00.csv into db_00 (a flow name
// may not hold a dot) while keeping the target.
func fixDotNames(s string) string {
	for i := range 6 {
		n := fmt.Sprintf("db_%02d", i)
		s = strings.Replace(s, "name: "+n+".csv", "name: "+n, 1)
	}
	return s
}
