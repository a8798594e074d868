package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// A flow scheduled every second that takes about 3 s, worked by two
// workers for 20 s: its runs never overlap, and every tick is either a
// job or a skipped tick that a worker logged and counted.
func TestScheduleEverySecondNeverOverlaps(t *testing.T) {
	dsn := testenv.Postgres(t)
	bin := hostBinary(t)
	schema := jobSchema(t, dsn, "so_sched")
	dir := t.TempDir()
	p := write(t, dir, "tick.yaml", `version: 1
name: tick
sources:
  slow: {type: memory, table_name: events, generate: {rows: 10, seed: 1}, faults: {latency: 3.0}}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: every_second, from: slow, to: out, target: t.csv, schedule: "* * * * * *"}
`)
	expect(t, cli(t, "schedule", p, "--db", dsn, "--db-schema", schema), 0, "every_second", "registered")
	w1 := startWorker(t, bin, dsn, schema, "s1", "--stop-timeout", "10s")
	w2 := startWorker(t, bin, dsn, schema, "s2", "--stop-timeout", "10s")
	time.Sleep(20 * time.Second) // the schedule's own length: 20 ticks
	for _, w := range []*worker{w1, w2} {
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []*worker{w1, w2} {
		select {
		case err := <-w.done:
			w.done <- err
			if err != nil {
				t.Fatalf("worker %s: %v", w.name, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("worker %s did not stop", w.name)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT worker, status, started_at, finished_at FROM `+schema+`.sqlflow_runs WHERE flow = 'every_second' ORDER BY started_at`)
	if err != nil {
		t.Fatal(err)
	}
	type run struct {
		worker, status string
		start, end     time.Time
	}
	var runs []run
	for rows.Next() {
		var r run
		var end *time.Time
		if err := rows.Scan(&r.worker, &r.status, &r.start, &end); err != nil {
			t.Fatal(err)
		}
		if end == nil {
			t.Fatalf("a run of %s has not finished after both workers stopped", r.worker)
		}
		r.end = *end
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(runs) < 3 {
		t.Fatalf("only %d runs in 20 s", len(runs))
	}
	for i, r := range runs {
		if d := r.end.Sub(r.start); d < 3*time.Second && r.status == "committed" {
			t.Errorf("run %d took %s; the flow should take at least 3 s", i, d)
		}
	}
	for i := 1; i < len(runs); i++ {
		if runs[i].start.Before(runs[i-1].end) {
			t.Errorf("run %d (%s, from %s) started before run %d (%s) ended at %s", i, runs[i].worker, runs[i].start.Format(time.StampMilli),
				i-1, runs[i-1].worker, runs[i-1].end.Format(time.StampMilli))
		}
	}
	var jobsN, skipped, ticks int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+schema+`.river_job WHERE args->>'flow' = 'every_second'), skipped_ticks,
		extract(epoch FROM date_trunc('second', last_tick) - date_trunc('second', registered_at))::bigint
		FROM `+schema+`.sqlflow_schedules WHERE flow = 'every_second'`).Scan(&jobsN, &skipped, &ticks); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d ticks: %d jobs, %d skipped; %d runs", ticks, jobsN, skipped, len(runs))
	if jobsN+skipped != ticks {
		t.Errorf("%d ticks, but %d jobs and %d skipped: a tick was lost", ticks, jobsN, skipped)
	}
	if ticks < 15 {
		t.Errorf("only %d ticks handled in 20 s", ticks)
	}
	logs := w1.logText(t) + w2.logText(t)
	if n := strings.Count(logs, "schedule tick skipped: the previous run of the flow is still queued or running"); n == 0 || int64(n) > skipped {
		t.Errorf("%d skipped-tick log lines for %d skipped ticks", n, skipped)
	}
	expect(t, cli(t, "schedule", "--list", "--db", dsn, "--db-schema", schema), 0, "every_second", "* * * * * *")
}
