package jobs

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

func openTest(t *testing.T) *DB {
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	schema := fmt.Sprintf("jobs_%d", time.Now().UnixNano())
	db, err := Open(ctx, dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		db.Close()
	})
	return db
}

// Two workers' schedulers looking at the same due tick: exactly one
// enqueues it; ticks missed while none ran are counted; a tick while the
// flow's job still waits is skipped, counted and logged. Time is given to
// the schedulers, not read from the clock.
func TestSchedulersClaimEachTickOnce(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	args := FlowArgs{Pipeline: "p", Flow: "f", File: "/nonexistent/p.yaml", Source: "version: 1\n"}
	if _, err := db.Register(ctx, []FlowArgs{args}, []string{"* * * * * *"}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if _, err := db.Pool.Exec(ctx, `UPDATE `+db.table("sqlflow_schedules")+` SET last_tick = $1`, base); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs})
	a := &Scheduler{db: db, client: db.Client, log: log}
	b := &Scheduler{db: db, client: db.Client, log: log}
	now := base.Add(5*time.Second + 300*time.Millisecond) // ticks :01 to :05 are due
	for _, s := range []*Scheduler{a, b, a} {
		if _, err := s.once(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	jobsN := func() int64 {
		var n int64
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+db.table("river_job")).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	scheds, err := db.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := jobsN(); n != 1 || !scheds[0].LastTick.Equal(base.Add(5*time.Second)) || scheds[0].Skipped != 4 {
		t.Fatalf("after ticks :01-:05: %d jobs, last tick %s, %d skipped; want 1 job, :05, 4 missed", n, scheds[0].LastTick, scheds[0].Skipped)
	}
	if !strings.Contains(logs.String(), "schedule ticks missed") || !strings.Contains(logs.String(), "missed=4") {
		t.Fatalf("no missed-ticks line:\n%s", logs.String())
	}
	// The next tick while the job still waits: skipped, counted, logged.
	if _, err := b.once(ctx, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	scheds, _ = db.Schedules(ctx)
	if n := jobsN(); n != 1 || scheds[0].Skipped != 5 {
		t.Fatalf("after tick :06: %d jobs, %d skipped; want 1 and 5", n, scheds[0].Skipped)
	}
	if !strings.Contains(logs.String(), "schedule tick skipped: the previous run of the flow is still queued or running") {
		t.Fatalf("no skipped-tick line:\n%s", logs.String())
	}
}
