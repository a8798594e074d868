package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sqlflow/sqlflow-host/host/cronexpr"
)

// Schedule is a registered schedule of one flow.
type Schedule struct {
	Pipeline, Flow string
	// Expr is the cron expression.
	Expr string
	// LastTick is the last tick a worker handled (enqueued or skipped).
	LastTick time.Time
	// Skipped counts the ticks not run: the previous run was still queued
	// or running, or no worker was up.
	Skipped int64
	args    FlowArgs
}

// Register stores the schedules of args (expr per flow, same order): a
// flow registered again keeps its last tick when its expression is
// unchanged. Flows of the same pipelines that are registered but absent
// from args are removed (the file no longer schedules them); their names
// are returned.
func (db *DB) Register(ctx context.Context, args []FlowArgs, exprs []string) (removed []string, err error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("register schedules: %w", err)
	}
	defer tx.Rollback(ctx)
	keep := map[string][]string{}
	for i, a := range args {
		if _, err := cronexpr.Parse(exprs[i]); err != nil {
			return nil, fmt.Errorf("flow %q: %w", a.Flow, err)
		}
		data, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+db.table("sqlflow_schedules")+` (pipeline, flow, schedule, args, last_tick) VALUES ($1, $2, $3, $4, now())
ON CONFLICT (pipeline, flow) DO UPDATE SET args = EXCLUDED.args, schedule = EXCLUDED.schedule,
	last_tick = CASE WHEN `+db.table("sqlflow_schedules")+`.schedule = EXCLUDED.schedule THEN `+db.table("sqlflow_schedules")+`.last_tick ELSE now() END`,
			a.Pipeline, a.Flow, exprs[i], data)
		if err != nil {
			return nil, fmt.Errorf("register the schedule of flow %q: %w", a.Flow, err)
		}
		keep[a.Pipeline] = append(keep[a.Pipeline], a.Flow)
	}
	for p, flows := range keep {
		rows, err := tx.Query(ctx, `DELETE FROM `+db.table("sqlflow_schedules")+` WHERE pipeline = $1 AND NOT (flow = ANY($2)) RETURNING flow`, p, flows)
		if err != nil {
			return nil, fmt.Errorf("remove old schedules: %w", err)
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("remove old schedules: %w", err)
		}
		removed = append(removed, gone...)
	}
	return removed, tx.Commit(ctx)
}

// Unregister removes every schedule of pipeline; it returns the flows
// that had one.
func (db *DB) Unregister(ctx context.Context, pipeline string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `DELETE FROM `+db.table("sqlflow_schedules")+` WHERE pipeline = $1 RETURNING flow`, pipeline)
	if err != nil {
		return nil, fmt.Errorf("remove the schedules of pipeline %q: %w", pipeline, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Schedules lists the registered schedules.
func (db *DB) Schedules(ctx context.Context) ([]Schedule, error) {
	rows, err := db.Pool.Query(ctx, `SELECT pipeline, flow, schedule, args, last_tick, skipped_ticks FROM `+db.table("sqlflow_schedules")+` ORDER BY pipeline, flow`)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	defer rows.Close()
	var out []Schedule
	for rows.Next() {
		var s Schedule
		var data []byte
		var last *time.Time
		if err := rows.Scan(&s.Pipeline, &s.Flow, &s.Expr, &data, &last, &s.Skipped); err != nil {
			return nil, err
		}
		if last != nil {
			s.LastTick = *last
		}
		if err := json.Unmarshal(data, &s.args); err != nil {
			return nil, fmt.Errorf("schedule of flow %q: %w", s.Flow, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Scheduler enqueues scheduled flows. Every worker runs one; a tick is
// claimed by exactly one of them (an UPDATE of the schedule's last_tick
// from the value it read), which enqueues the flow's job in the same
// transaction. The job is unique per flow, so a tick that comes while the
// previous run is still queued or running inserts nothing: it is logged
// as skipped and counted. Schedules live in PostgreSQL, so they survive
// any worker's restart; ticks that passed while no worker ran are counted
// and logged as missed, and only the latest is run.
type Scheduler struct {
	db     *DB
	client *river.Client[pgx.Tx]
	log    hclog.Logger
}

// Run handles ticks until ctx is cancelled, looking at the schedules at
// least every second; database errors are logged and retried with
// backoff.
func (s *Scheduler) Run(ctx context.Context) {
	backoff := time.Second
	for {
		wait, err := s.once(ctx, time.Now())
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("schedules: job database unreachable; retrying", "in", backoff, "error", err)
			wait = backoff
			backoff = min(backoff*2, time.Minute)
		} else {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// once handles the ticks due at now and returns how long to wait for the
// next one (at most a second, so new schedules are seen).
func (s *Scheduler) once(ctx context.Context, now time.Time) (time.Duration, error) {
	scheds, err := s.db.Schedules(ctx)
	if err != nil {
		return 0, err
	}
	wait := time.Second
	for _, sc := range scheds {
		cs, err := cronexpr.Parse(sc.Expr)
		if err != nil {
			s.log.Error("schedule cannot be parsed; register it again", "pipeline", sc.Pipeline, "flow", sc.Flow, "error", err)
			continue
		}
		next := cs.Next(sc.LastTick)
		if next.After(now) {
			wait = min(wait, next.Sub(now))
			continue
		}
		tick, missed := next, int64(0)
		for n := cs.Next(tick); !n.After(now) && missed < 1_000_000; n = cs.Next(tick) {
			tick = n
			missed++
		}
		if err := s.fire(ctx, sc, tick, missed); err != nil {
			return 0, err
		}
		if n := cs.Next(tick); n.After(now) {
			wait = min(wait, n.Sub(now))
		}
	}
	return max(wait, 10*time.Millisecond), nil
}

// fire claims tick of sc and enqueues its flow.
func (s *Scheduler) fire(ctx context.Context, sc Schedule, tick time.Time, missed int64) error {
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `UPDATE `+s.db.table("sqlflow_schedules")+` SET last_tick = $3, skipped_ticks = skipped_ticks + $4
WHERE pipeline = $1 AND flow = $2 AND last_tick = $5`, sc.Pipeline, sc.Flow, tick, missed, sc.LastTick)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return nil // another worker claimed it
	}
	args := sc.args
	args.Tick = tick.UTC().Format(time.RFC3339Nano)
	res, err := s.client.InsertTx(ctx, tx, args, nil)
	if err != nil {
		return err
	}
	if res.UniqueSkippedAsDuplicate {
		if _, err := tx.Exec(ctx, `UPDATE `+s.db.table("sqlflow_schedules")+` SET skipped_ticks = skipped_ticks + 1 WHERE pipeline = $1 AND flow = $2`, sc.Pipeline, sc.Flow); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if missed > 0 {
		s.log.Warn("schedule ticks missed (no worker handled them in time); running the latest", "pipeline", sc.Pipeline, "flow", sc.Flow, "missed", missed, "tick", tick.UTC().Format(time.RFC3339))
	}
	if res.UniqueSkippedAsDuplicate {
		s.log.Warn("schedule tick skipped: the previous run of the flow is still queued or running", "pipeline", sc.Pipeline, "flow", sc.Flow,
			"tick", tick.UTC().Format(time.RFC3339Nano), "job", res.Job.ID, "job_state", string(res.Job.State))
		return nil
	}
	s.log.Info("schedule tick: flow enqueued", "pipeline", sc.Pipeline, "flow", sc.Flow, "tick", tick.UTC().Format(time.RFC3339Nano), "job", res.Job.ID)
	return nil
}

// ErrNoSchedule is returned by schedule registration when no flow of the
// file has a schedule. Test with errors.Is.
var ErrNoSchedule = errors.New("no flow has a schedule")
