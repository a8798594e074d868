// Package pgstate keeps flow state (each incremental flow's cursor and
// last checkpoint) in a PostgreSQL table instead of a state directory, so
// that every worker sharing the database resumes a flow where any other
// left it. The table, <schema>.sqlflow_state, holds one row per pipeline
// and flow with the same JSON a state file holds (state.Encode); a save
// is one upsert, atomic like a file's rename.
package pgstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/host/state"
)

// callTimeout bounds each statement: state rows are small, and a worker
// that cannot reach its database within it fails the flow (River retries
// the job) rather than hang.
const callTimeout = 30 * time.Second

// Store is the state of every pipeline in one PostgreSQL schema. It is
// safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	// ctx is the context statements run under (each with callTimeout):
	// state.Backend's methods take none, and a worker's state must not
	// outlive the worker.
	ctx context.Context
}

var _ state.Backend = (*Store)(nil)

// Open returns the store in schema ("" means public) of pool's database,
// creating its table when missing. Statements run under ctx.
func Open(ctx context.Context, pool *pgxpool.Pool, schema string) (*Store, error) {
	if schema == "" {
		schema = "public"
	}
	s := &Store{pool: pool, schema: schema, ctx: ctx}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := pool.Exec(cctx, `CREATE TABLE IF NOT EXISTS `+s.table()+` (
	pipeline text NOT NULL,
	flow text NOT NULL,
	state text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (pipeline, flow))`)
	if err != nil {
		return nil, fmt.Errorf("create the state table %s: %w", s.table(), err)
	}
	return s, nil
}

// Table names the table, as schema.sqlflow_state.
func (s *Store) Table() string { return s.schema + ".sqlflow_state" }

func (s *Store) table() string { return pgx.Identifier{s.schema, "sqlflow_state"}.Sanitize() }

// Path names the row holding a flow's state.
func (s *Store) Path(pipeline, flow string) string {
	return fmt.Sprintf("table %s.sqlflow_state (pipeline %q, flow %q)", s.schema, pipeline, flow)
}

// Load returns a flow's stored state, or nil when there is none.
func (s *Store) Load(pipeline, flow string) (*state.Flow, error) {
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	var data string
	err := s.pool.QueryRow(ctx, `SELECT state FROM `+s.table()+` WHERE pipeline = $1 AND flow = $2`, pipeline, flow).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state of flow %q from %s: %w", flow, s.table(), err)
	}
	return state.Decode([]byte(data), s.Path(pipeline, flow))
}

// Save replaces a flow's stored state in one statement.
func (s *Store) Save(pipeline, flow string, f state.Flow) error {
	data, err := state.Encode(f)
	if err != nil {
		return fmt.Errorf("save state of flow %q: %w", flow, err)
	}
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	_, err = s.pool.Exec(ctx, `INSERT INTO `+s.table()+` (pipeline, flow, state, updated_at) VALUES ($1, $2, $3, now())
ON CONFLICT (pipeline, flow) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`, pipeline, flow, string(data))
	if err != nil {
		return fmt.Errorf("save state of flow %q to %s: %w", flow, s.table(), err)
	}
	return nil
}

// Delete removes a flow's state; it reports whether there was one.
func (s *Store) Delete(pipeline, flow string) (bool, error) {
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.table()+` WHERE pipeline = $1 AND flow = $2`, pipeline, flow)
	if err != nil {
		return false, fmt.Errorf("delete state of flow %q from %s: %w", flow, s.table(), err)
	}
	return tag.RowsAffected() > 0, nil
}

// Flows lists the flows a pipeline has state for, sorted.
func (s *Store) Flows(pipeline string) ([]string, error) {
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT flow FROM `+s.table()+` WHERE pipeline = $1 ORDER BY flow`, pipeline)
	if err != nil {
		return nil, fmt.Errorf("list state of pipeline %q in %s: %w", pipeline, s.table(), err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list state of pipeline %q in %s: %w", pipeline, s.table(), err)
	}
	return out, nil
}
