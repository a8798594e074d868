// Package jobs runs flows as jobs of River (github.com/riverqueue/river),
// a job queue kept in PostgreSQL: Submit enqueues one job per flow of a
// pipeline file, a Worker runs them on any number of machines, and
// Scheduler enqueues the flows that carry a schedule, once per tick.
//
// # Tables
//
// Open migrates River's own tables (rivermigrate, under an advisory lock so
// that workers starting together do not race) and creates three more in
// the same schema: sqlflow_runs (the run ledger: one row per attempt of a
// job, with the worker, its outcome and its write), sqlflow_schedules (the
// registered schedules and the last tick each enqueued) and sqlflow_state
// (flow cursors, package state/pgstate).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/sqlflow/sqlflow-host/host/state/pgstate"
)

// connectTimeout bounds reaching the database when a command starts.
const connectTimeout = 10 * time.Second

// DB is a connection pool to the job database with River's tables and
// this package's in place, and a River client that inserts and manages
// jobs (it works none: see Worker).
type DB struct {
	// Pool is the connection pool.
	Pool *pgxpool.Pool
	// Schema is the schema holding the tables ("" means the connection's
	// search_path, normally public).
	Schema string
	// Client inserts, lists, cancels and retries jobs.
	Client *river.Client[pgx.Tx]
	// State keeps flow cursors in the database.
	State *pgstate.Store
}

// UnreachableError is a database that could not be reached or logged into
// when a command started. Test with errors.As.
type UnreachableError struct {
	// Target is host:port/database, without credentials.
	Target string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the job database %s: %v", e.Target, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// Open connects to dsn, checks that the database answers, migrates
// River's tables and creates this package's in schema (created when
// missing; "" means the search_path's). ctx bounds the statements of the
// returned DB's state store too.
func Open(ctx context.Context, dsn, schema string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message masks the password.
		return nil, fmt.Errorf("--db: %w", err)
	}
	target := fmt.Sprintf("%s/%s", net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port)), cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, &UnreachableError{Target: target, Err: err}
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, &UnreachableError{Target: target, Err: unwrapConnect(err)}
	}
	db := &DB{Pool: pool, Schema: schema}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	db.State, err = pgstate.Open(ctx, pool, schemaOr(schema))
	if err != nil {
		pool.Close()
		return nil, err
	}
	db.Client, err = river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("river client: %w", err)
	}
	return db, nil
}

// unwrapConnect keeps the useful part of a connect error: pgconn's
// ConnectError repeats the config; its cause says what happened.
func unwrapConnect(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return ce.Unwrap()
	}
	return err
}

func schemaOr(s string) string {
	if s == "" {
		return "public"
	}
	return s
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// table returns a table of this package, qualified by the schema.
func (db *DB) table(name string) string {
	return pgx.Identifier{schemaOr(db.Schema), name}.Sanitize()
}

// migrateLock is the advisory lock key held while migrating, so that
// workers starting at once migrate one after another ("sqlflow" in
// ASCII).
const migrateLock = 0x73716c666c6f77

func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate the job database: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("migrate the job database: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock) }()
	if db.Schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{db.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema %q: %w", db.Schema, err)
		}
	}
	m, err := rivermigrate.New(riverpgxv5.New(db.Pool), &rivermigrate.Config{Schema: db.Schema})
	if err != nil {
		return fmt.Errorf("migrate River's tables: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate River's tables: %w", err)
	}
	_, err = conn.Exec(ctx, `
CREATE TABLE IF NOT EXISTS `+db.table("sqlflow_runs")+` (
	job_id bigint NOT NULL,
	attempt int NOT NULL,
	pipeline text NOT NULL,
	flow text NOT NULL,
	worker text NOT NULL,
	status text NOT NULL,
	write_id text,
	error text,
	started_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	PRIMARY KEY (job_id, attempt));
CREATE TABLE IF NOT EXISTS `+db.table("sqlflow_schedules")+` (
	pipeline text NOT NULL,
	flow text NOT NULL,
	schedule text NOT NULL,
	args jsonb NOT NULL,
	registered_at timestamptz NOT NULL DEFAULT now(),
	last_tick timestamptz,
	skipped_ticks bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (pipeline, flow))`)
	if err != nil {
		return fmt.Errorf("create the sqlflow tables: %w", err)
	}
	return nil
}
