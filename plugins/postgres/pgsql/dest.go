package pgsql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// The connector's own tables, in the configured schema.
const (
	writesTable  = "sqlflow_writes"
	batchesTable = "sqlflow_batches"
	stateTable   = "sqlflow_state"
	stagePrefix  = "sqlflow_stage_"
	posColumn    = "_sqlflow_pos"
)

// Write statuses in sqlflow_writes.
const (
	statusOpen      = "open"
	statusCommitted = "committed"
	statusAborted   = "aborted"
)

// writeInfo is one staged write, as recorded in sqlflow_writes. A nil
// schema is a write begun without one (an empty stream whose columns the
// source does not know): it has no staging table and takes no batches.
type writeInfo struct {
	id, flow string
	target   pgx.Identifier
	mode     sdk.WriteMode
	key      []string
	staging  pgx.Identifier
	schema   *arrow.Schema
	types    []pgTarget // natural type of each field
	// pos is whether the staging has the position column (seq<<32 | row):
	// for upsert (the write order) and for a write whose values the commit
	// converts into the target's types (to name a refused row).
	pos    bool
	status string
	rows   int64
}

// BeginWrite records the write in sqlflow_writes and creates its UNLOGGED
// staging table. It first drops the staging of the same flow's writes that
// never finished (a killed host's), and checks that the target, when it
// exists, can take the schema (and, for upsert, has a unique index on the
// key). Calling it again with the same write id is harmless. The target
// itself is not touched before CommitWrite.
//
// Without a schema (an empty stream whose columns the source does not
// know) a replace empties the target at commit and keeps its columns; a
// target that does not exist is then a PERMANENT error, and nothing is
// created. An append or upsert without a schema commits without changing
// the target (it still stores the state blob).
func (c *Connector) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	cfg, pool, err := c.conn()
	if err != nil {
		return err
	}
	w, err := newWriteInfo(cfg, req)
	if err != nil {
		return err
	}
	if w.schema == nil && w.mode == sdk.ModeReplace {
		// Checked first, so that a refused write creates nothing, not even
		// the connector's own tables.
		tcols, err := targetColumns(ctx, pool, w.target)
		if err != nil {
			return c.fail(ctx, err, "read the columns of %s", w.target.Sanitize())
		}
		if tcols == nil {
			return noTargetError(w)
		}
	}
	if err := c.ensureInternal(ctx, pool, cfg.Schema); err != nil {
		return err
	}
	prev, err := c.loadWrite(ctx, pool, cfg, req.WriteID)
	if err != nil && !errors.Is(err, errNoWrite) {
		return err
	}
	if prev != nil {
		switch prev.status {
		case statusCommitted:
			return nil
		case statusAborted:
			return errclass.Permanentf("postgres: write %s was aborted; begin a new write", req.WriteID)
		}
		if prev.schema == nil {
			return nil // no staging table to recreate
		}
		if _, err := pool.Exec(ctx, "CREATE UNLOGGED TABLE IF NOT EXISTS "+prev.staging.Sanitize()+" ("+stagingColumns(prev)+")"); err != nil {
			return c.fail(ctx, err, "recreate the staging table of write %s", req.WriteID)
		}
		return nil
	}
	if err := c.cleanFlow(ctx, pool, cfg, req.Flow, req.WriteID); err != nil {
		return err
	}
	if w.schema == nil {
		return c.beginWithoutSchema(ctx, pool, cfg, w)
	}
	tcols, err := c.checkTarget(ctx, pool, w)
	if err != nil {
		return err
	}
	if len(conversions(w, tcols)) > 0 {
		w.pos = true
	}
	// A write into a table that does not exist yet stages into a regular
	// table that the commit renames into place (see CommitWrite); any other
	// write stages into an UNLOGGED one that the commit copies from.
	create := "CREATE UNLOGGED TABLE IF NOT EXISTS "
	if tcols == nil && adoptable(w) {
		create = "CREATE TABLE IF NOT EXISTS "
	}
	schemaBytes, err := arrowipc.EncodeSchema(w.schema)
	if err != nil {
		return errclass.Permanentf("postgres: %v", err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO "+internal(cfg, writesTable)+
			" (write_id, flow, target_schema, target_table, mode, key_columns, staging, arrow_schema) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (write_id) DO NOTHING",
			w.id, w.flow, w.target[0], w.target[1], string(w.mode), w.key, w.staging[1], schemaBytes)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, create+w.staging.Sanitize()+" ("+stagingColumns(w)+")")
		return err
	})
	if err != nil {
		return c.fail(ctx, err, "begin write %s to %s", req.WriteID, w.target.Sanitize())
	}
	c.mu.Lock()
	c.writes[w.id] = w
	c.mu.Unlock()
	return nil
}

// beginWithoutSchema records a write begun without a schema; it has no
// staging table.
func (c *Connector) beginWithoutSchema(ctx context.Context, pool *pgxpool.Pool, cfg *config, w *writeInfo) error {
	_, err := pool.Exec(ctx, "INSERT INTO "+internal(cfg, writesTable)+
		" (write_id, flow, target_schema, target_table, mode, key_columns, staging, arrow_schema) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (write_id) DO NOTHING",
		w.id, w.flow, w.target[0], w.target[1], string(w.mode), w.key, w.staging[1], []byte{})
	if err != nil {
		return c.fail(ctx, err, "begin write %s to %s", w.id, w.target.Sanitize())
	}
	c.mu.Lock()
	c.writes[w.id] = w
	c.mu.Unlock()
	return nil
}

func noTargetError(w *writeInfo) error {
	return errclass.Permanentf("postgres: cannot replace %s without rows: the target does not exist and no schema is known (the stream was empty and its source names no columns); the table is not created",
		w.target.Sanitize())
}

// newWriteInfo validates a write request (its id and schema, then
// checkWrite's checks) and maps its schema.
func newWriteInfo(cfg *config, req sdk.WriteRequest) (*writeInfo, error) {
	if req.WriteID == "" {
		return nil, errclass.Permanentf("postgres: the write has no id")
	}
	if req.Schema != nil && req.Schema.NumFields() == 0 {
		return nil, errclass.Permanentf("postgres: the write to %q has no columns", req.Target)
	}
	target, mode, err := checkWrite(cfg, req)
	if err != nil {
		return nil, err
	}
	w := &writeInfo{
		id: req.WriteID, flow: req.Flow, target: target,
		mode: mode, key: append([]string{}, req.Key...), schema: req.Schema, status: statusOpen,
		pos: mode == sdk.ModeUpsert,
	}
	w.staging = pgx.Identifier{cfg.Schema, stagingName(req.Flow, req.WriteID)}
	if req.Schema == nil {
		return w, nil
	}
	seen := map[string]bool{}
	for _, f := range req.Schema.Fields() {
		if seen[f.Name] {
			return nil, errclass.Permanentf("postgres: the data has two columns named %q", f.Name)
		}
		if f.Name == posColumn {
			return nil, errclass.Permanentf("postgres: the column name %q is reserved by the connector", f.Name)
		}
		seen[f.Name] = true
		t, err := naturalType(f.Type)
		if err != nil {
			return nil, errclass.Permanentf("postgres: column %q: %v", f.Name, err)
		}
		w.types = append(w.types, t)
	}
	for _, k := range w.key {
		if !seen[k] {
			return nil, errclass.Permanentf("postgres: key column %q is not a column of the data (columns: %s)", k, fieldNames(req.Schema))
		}
	}
	return w, nil
}

// stagingName is sqlflow_stage_<flow>_<write id>, cut to PostgreSQL's 63
// bytes, with a hash of the write id so that cutting cannot merge two.
func stagingName(flow, writeID string) string {
	clean := func(s string, n int) string {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			if b.Len() >= n {
				break
			}
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		return b.String()
	}
	h := fnv.New32a()
	h.Write([]byte(writeID))
	return fmt.Sprintf("%s%s_%s_%08x", stagePrefix, clean(flow, 20), clean(writeID, 16), h.Sum32())
}

// stagingColumns is the column list of a write's staging table: the
// natural type of every field, then, for upsert or a converting write,
// the position column.
func stagingColumns(w *writeInfo) string {
	parts := make([]string, 0, len(w.types)+1)
	for i, f := range w.schema.Fields() {
		parts = append(parts, pgx.Identifier{f.Name}.Sanitize()+" "+w.types[i].sql)
	}
	if w.pos {
		parts = append(parts, posColumn+" bigint")
	}
	return strings.Join(parts, ", ")
}

// adoptable reports whether the staging of w can become the target
// itself at commit (renamed into place) when the target does not exist:
// not an upsert, and every column created with its natural type (no
// postgres.type metadata asking for uuid, jsonb, …). Such a write stages
// into a regular (logged) table, so the commit is a rename instead of
// copying every row again.
func adoptable(w *writeInfo) bool {
	if w.mode == sdk.ModeUpsert {
		return false
	}
	for i, f := range w.schema.Fields() {
		if createType(f, w.types[i]) != w.types[i].sql {
			return false
		}
	}
	return true
}

func internal(cfg *config, table string) string {
	return pgx.Identifier{cfg.Schema, table}.Sanitize()
}

// ensureInternal creates the connector's tables when missing, under an
// advisory lock so that concurrent first writes do not race.
func (c *Connector) ensureInternal(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	c.mu.Lock()
	done := c.warned["internal:"+schema]
	c.mu.Unlock()
	if done {
		return nil
	}
	cfg := &config{Schema: schema}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('sqlflow_internal_tables'))"); err != nil {
			return err
		}
		for _, ddl := range []string{
			"CREATE TABLE IF NOT EXISTS " + internal(cfg, writesTable) + ` (
  write_id text PRIMARY KEY, flow text NOT NULL, target_schema text NOT NULL, target_table text NOT NULL,
  mode text NOT NULL, key_columns text[] NOT NULL DEFAULT '{}', staging text NOT NULL, arrow_schema bytea NOT NULL,
  status text NOT NULL DEFAULT 'open', rows bigint, began_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz)`,
			"CREATE TABLE IF NOT EXISTS " + internal(cfg, batchesTable) + ` (
  write_id text NOT NULL, seq bigint NOT NULL, rows bigint NOT NULL, PRIMARY KEY (write_id, seq))`,
			"CREATE TABLE IF NOT EXISTS " + internal(cfg, stateTable) + ` (
  flow text PRIMARY KEY, state bytea, write_id text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
		} {
			if _, err := tx.Exec(ctx, ddl); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return c.fail(ctx, err, "create the connector's tables (%s, %s, %s) in schema %q", writesTable, batchesTable, stateTable, schema)
	}
	c.mu.Lock()
	c.warned["internal:"+schema] = true
	c.mu.Unlock()
	return nil
}

// errNoWrite is returned by loadWrite for an unknown write id. Test with
// errors.Is.
var errNoWrite = errors.New("no such write")

// loadWrite returns a write from the cache or from sqlflow_writes (a new
// process after a restart knows only the id).
func (c *Connector) loadWrite(ctx context.Context, pool *pgxpool.Pool, cfg *config, id string) (*writeInfo, error) {
	c.mu.Lock()
	w := c.writes[id]
	c.mu.Unlock()
	if w != nil && w.status == statusOpen {
		return w, nil
	}
	var (
		flow, ts, tt, mode, staging, status string
		key                                 []string
		schemaBytes                         []byte
		rows                                *int64
	)
	err := pool.QueryRow(ctx, "SELECT flow, target_schema, target_table, mode, key_columns, staging, arrow_schema, status, rows FROM "+
		internal(cfg, writesTable)+" WHERE write_id = $1", id).Scan(&flow, &ts, &tt, &mode, &key, &staging, &schemaBytes, &status, &rows)
	if errors.Is(err, pgx.ErrNoRows) || pgStateIs(err, "42P01") {
		return nil, errNoWrite
	}
	if err != nil {
		return nil, c.fail(ctx, err, "look up write %s", id)
	}
	schema, err := arrowipc.DecodeSchema(schemaBytes)
	if err != nil {
		return nil, errclass.Permanentf("postgres: write %s: %v", id, err)
	}
	w = &writeInfo{id: id, flow: flow, target: pgx.Identifier{ts, tt}, mode: sdk.WriteMode(mode), key: key,
		staging: pgx.Identifier{cfg.Schema, staging}, schema: schema, status: status, pos: mode == string(sdk.ModeUpsert)}
	if rows != nil {
		w.rows = *rows
	}
	if !w.pos && status == statusOpen && schema != nil {
		// A converting write's staging has the position column too.
		err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped)",
			w.staging.Sanitize(), posColumn).Scan(&w.pos)
		if err != nil {
			return nil, c.fail(ctx, err, "look up the staging of write %s", id)
		}
	}
	for _, f := range schemaFields(schema) {
		t, err := naturalType(f.Type)
		if err != nil {
			return nil, errclass.Permanentf("postgres: write %s, column %q: %v", id, f.Name, err)
		}
		w.types = append(w.types, t)
	}
	c.mu.Lock()
	c.writes[id] = w
	c.mu.Unlock()
	return w, nil
}

// cleanFlow drops the staging of every write of flow that is still open
// (a killed host's leftovers) other than keep, and forgets finished writes
// older than a week.
func (c *Connector) cleanFlow(ctx context.Context, pool *pgxpool.Pool, cfg *config, flow, keep string) error {
	rows, err := pool.Query(ctx, "SELECT write_id, staging FROM "+internal(cfg, writesTable)+" WHERE flow = $1 AND status = 'open' AND write_id <> $2", flow, keep)
	if err != nil {
		return c.fail(ctx, err, "look up unfinished writes of flow %q", flow)
	}
	type stale struct{ id, staging string }
	var olds []stale
	for rows.Next() {
		var s stale
		if err := rows.Scan(&s.id, &s.staging); err != nil {
			rows.Close()
			return c.fail(ctx, err, "look up unfinished writes of flow %q", flow)
		}
		olds = append(olds, s)
	}
	if err := rows.Err(); err != nil {
		return c.fail(ctx, err, "look up unfinished writes of flow %q", flow)
	}
	for _, o := range olds {
		if err := c.abort(ctx, pool, cfg, o.id, o.staging); err != nil {
			return err
		}
		c.logger.Info("dropped the staging of an unfinished earlier write of this flow", "flow", flow, "write_id", o.id, "staging", o.staging)
	}
	_, err = pool.Exec(ctx, "DELETE FROM "+internal(cfg, writesTable)+" WHERE status <> 'open' AND finished_at < now() - interval '7 days'")
	if err != nil {
		return c.fail(ctx, err, "forget old writes")
	}
	return nil
}

// targetColumn is a column of an existing target table.
type targetColumn struct {
	name     string
	oid      uint32
	typeName string // with its modifier: numeric(12,2)
	baseName string // without: numeric
	typtype  string
}

// targetColumns returns the target's columns by name, or nil when it does
// not exist.
func targetColumns(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, target pgx.Identifier) (map[string]targetColumn, error) {
	rows, err := q.Query(ctx, `
SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), t.typtype::text
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, target.Sanitize())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[string]targetColumn
	for rows.Next() {
		var tc targetColumn
		if err := rows.Scan(&tc.name, &tc.oid, &tc.typeName, &tc.baseName, &tc.typtype); err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]targetColumn{}
		}
		out[tc.name] = tc
	}
	return out, rows.Err()
}

// textTargets are the types a utf8 column is cast to when the target (or
// the source's postgres.type metadata) says so.
var textTargets = regexp.MustCompile(`^(uuid|json|jsonb|xml|inet|cidr|macaddr|money|numeric(\(\d+,-?\d+\))?|character varying(\(\d+\))?|character(\(\d+\))?|"char"|name|time with time zone|date|timestamp(\(\d\))? with(out)? time zone|bit varying(\(\d+\))?|bit(\(\d+\))?|tsvector|point|citext)(\[\])?$`)

// checkTarget checks an existing target against the write (compatible
// column types; a unique index on the key for upsert) and returns its
// columns (nil when the target does not exist).
func (c *Connector) checkTarget(ctx context.Context, pool *pgxpool.Pool, w *writeInfo) (map[string]targetColumn, error) {
	tcols, err := targetColumns(ctx, pool, w.target)
	if err != nil {
		return nil, c.fail(ctx, err, "read the columns of %s", w.target.Sanitize())
	}
	if tcols == nil {
		return nil, nil
	}
	for i, f := range w.schema.Fields() {
		tc, ok := tcols[f.Name]
		if !ok {
			continue
		}
		if err := c.compatible(ctx, pool, w.target, f, w.types[i], tc); err != nil {
			return nil, err
		}
	}
	if w.mode == sdk.ModeUpsert {
		var ok bool
		sorted := slices.Clone(w.key)
		slices.Sort(sorted)
		err := pool.QueryRow(ctx, `
SELECT EXISTS (
  SELECT 1 FROM pg_index i
  WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
    AND i.indnkeyatts = cardinality($2::text[])
    AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
         WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey[0:i.indnkeyatts-1])) = $2::text[])`,
			w.target.Sanitize(), sorted).Scan(&ok)
		if err != nil {
			return nil, c.fail(ctx, err, "read the indexes of %s", w.target.Sanitize())
		}
		if !ok {
			return nil, errclass.Permanentf("postgres: upsert into %s needs a unique constraint or unique index on exactly (%s); add one, e.g. ALTER TABLE %s ADD UNIQUE (%s)",
				w.target.Sanitize(), strings.Join(w.key, ", "), w.target.Sanitize(), quotedList(w.key))
		}
	}
	return tcols, nil
}

// compatible reports whether a field's data can go into an existing
// column: the same type, an implicit or assignment cast (int4 into int8,
// int8 into int4, float8 into numeric, text into varchar), or a utf8
// column into a column of any type: its values are read by the type's
// input function at commit, as psql's \copy reads a file's text (see
// conversion).
func (c *Connector) compatible(ctx context.Context, pool *pgxpool.Pool, target pgx.Identifier, f arrow.Field, nat pgTarget, tc targetColumn) error {
	if nat.oid == tc.oid {
		return nil
	}
	if nat.oid == oidText {
		return nil
	}
	if elem, ok := elemOIDs[nat.oid]; ok && elem == oidText && strings.HasSuffix(tc.typeName, "[]") {
		return nil
	}
	var ok bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_cast WHERE castsource = $1 AND casttarget = $2 AND castcontext IN ('i', 'a'))
  OR EXISTS (SELECT 1 FROM pg_type s, pg_type t, pg_cast k WHERE s.oid = $1 AND t.oid = $2 AND s.typelem <> 0 AND t.typelem <> 0
             AND k.castsource = s.typelem AND k.casttarget = t.typelem AND k.castcontext IN ('i', 'a'))`, nat.oid, tc.oid).Scan(&ok)
	if err != nil {
		return c.fail(ctx, err, "look up casts")
	}
	if ok {
		return nil
	}
	return errclass.Permanentf("postgres: column %q of %s has type %s, but the data's column has type %s (Arrow %s), which cannot be stored in it; change the column's type, or cast the column in the source",
		f.Name, target.Sanitize(), tc.typeName, nat.sql, f.Type)
}

// WriteBatch loads one batch into the write's staging table with COPY
// (binary format) and records (write id, seq) in the ledger in the same
// transaction: a seq already recorded is skipped, so a batch replayed
// after a crash is stored once.
func (c *Connector) WriteBatch(ctx context.Context, writeID string, seq int64, rec arrow.RecordBatch) error {
	cfg, pool, err := c.conn()
	if err != nil {
		return err
	}
	w, err := c.loadWrite(ctx, pool, cfg, writeID)
	if errors.Is(err, errNoWrite) {
		return errclass.Permanentf("postgres: write %s was never begun (or was cleaned up)", writeID)
	}
	if err != nil {
		return err
	}
	switch w.status {
	case statusCommitted:
		return nil
	case statusAborted:
		return errclass.Permanentf("postgres: write %s was aborted", writeID)
	}
	if w.schema == nil {
		return errclass.Permanentf("postgres: write %s was begun without a schema (an empty stream) and takes no batches (batch %d)", writeID, seq)
	}
	if !sameFields(rec.Schema(), w.schema) {
		return errclass.Permanentf("postgres: batch %d of write %s has the schema %s, but the write began with %s", seq, writeID, rec.Schema(), w.schema)
	}
	buf := make([]byte, 0, 1<<16)
	buf = append(buf, copyHeader...)
	withPos := w.pos
	buf = encodeCopy(buf, rec, w.types, seq, withPos)
	buf = append(buf, 0xff, 0xff)

	cols := make([]string, 0, len(w.types)+1)
	for _, f := range w.schema.Fields() {
		cols = append(cols, pgx.Identifier{f.Name}.Sanitize())
	}
	if withPos {
		cols = append(cols, posColumn)
	}
	copySQL := "COPY " + w.staging.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN (FORMAT binary)"
	skipped := false
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO "+internal(cfg, batchesTable)+" (write_id, seq, rows) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
			writeID, seq, rec.NumRows())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			skipped = true
			return nil
		}
		_, err = tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf), copySQL)
		return err
	})
	if err != nil {
		if cerr, ok := c.copyError(ctx, pool, cfg, w, seq, err); ok {
			return cerr
		}
		return c.fail(ctx, err, "load batch %d of write %s into %s", seq, writeID, w.staging.Sanitize())
	}
	if skipped {
		c.logger.Debug("batch already staged; skipped", "write_id", writeID, "seq", seq)
	}
	return nil
}

// CommitWrite applies the staged rows to the target in one transaction:
// it creates the target (or adds new columns), applies the mode, checks
// that the staging holds every ledgered row, stores the state blob in
// sqlflow_state, marks the write committed and drops the staging. A write
// begun without a schema deletes the target's rows in replace mode (the
// table and its columns stay) and changes nothing in the others. A commit
// of a write already committed (a retry after a lost reply, 08007) returns
// nil and changes nothing.
func (c *Connector) CommitWrite(ctx context.Context, writeID string, state []byte) error {
	cfg, pool, err := c.conn()
	if err != nil {
		return err
	}
	w, err := c.loadWrite(ctx, pool, cfg, writeID)
	if errors.Is(err, errNoWrite) {
		return errclass.Permanentf("postgres: write %s was never begun (or was cleaned up)", writeID)
	}
	if err != nil {
		return err
	}
	var rows int64
	already := false
	var convs []conversion // the commit's conversions, for probeCasts
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, "SELECT status FROM "+internal(cfg, writesTable)+" WHERE write_id = $1 FOR UPDATE", writeID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return errclass.Permanentf("postgres: write %s was never begun (or was cleaned up)", writeID)
		}
		if err != nil {
			return err
		}
		switch status {
		case statusCommitted:
			already = true
			return nil
		case statusAborted:
			return errclass.Permanentf("postgres: write %s was aborted and cannot be committed", writeID)
		}
		if w.schema == nil {
			return c.commitWithoutSchema(ctx, tx, cfg, w, state)
		}
		var ledgered int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(sum(rows), 0)::bigint FROM "+internal(cfg, batchesTable)+" WHERE write_id = $1", writeID).Scan(&ledgered); err != nil {
			return err
		}
		tcols, err := targetColumns(ctx, tx, w.target)
		if err != nil {
			return err
		}
		if tcols == nil && adoptable(w) {
			var persistence string
			if err := tx.QueryRow(ctx, "SELECT relpersistence::text FROM pg_class WHERE oid = to_regclass($1)", w.staging.Sanitize()).Scan(&persistence); err != nil {
				return err
			}
			if persistence == "p" {
				// The staging is a regular table: it becomes the target.
				if err := c.adoptStaging(ctx, tx, w); err != nil {
					return err
				}
				rows = ledgered
				return c.finishCommit(ctx, tx, cfg, w, state, rows, false)
			}
		}
		if tcols == nil {
			if err := c.createTarget(ctx, tx, w); err != nil {
				return err
			}
			if tcols, err = targetColumns(ctx, tx, w.target); err != nil {
				return err
			}
		} else {
			for i, f := range w.schema.Fields() {
				if _, ok := tcols[f.Name]; ok {
					continue
				}
				if _, err := tx.Exec(ctx, "ALTER TABLE "+w.target.Sanitize()+" ADD COLUMN "+pgx.Identifier{f.Name}.Sanitize()+" "+createType(f, w.types[i])); err != nil {
					return err
				}
				c.logger.Info("added a column for a new source column", "table", w.target.Sanitize(), "column", f.Name)
			}
			if tcols, err = targetColumns(ctx, tx, w.target); err != nil {
				return err
			}
		}
		names := make([]string, 0, len(w.types))
		exprs := make([]string, 0, len(w.types))
		convs = conversions(w, tcols)
		byField := make(map[int]conversion, len(convs))
		for _, cv := range convs {
			byField[cv.field] = cv
		}
		for i, f := range w.schema.Fields() {
			id := pgx.Identifier{f.Name}.Sanitize()
			names = append(names, id)
			if cv, ok := byField[i]; ok {
				exprs = append(exprs, cv.expr("s."+id))
			} else {
				exprs = append(exprs, "s."+id)
			}
		}
		cols := strings.Join(names, ", ")
		if w.mode == sdk.ModeUpsert {
			var staged int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+w.staging.Sanitize()).Scan(&staged); err != nil {
				return err
			}
			if staged != ledgered {
				return lostRows(w, staged, ledgered)
			}
		}
		if w.mode == sdk.ModeReplace {
			if _, err := tx.Exec(ctx, "DELETE FROM "+w.target.Sanitize()); err != nil {
				return err
			}
		}
		insert := "INSERT INTO " + w.target.Sanitize() + " (" + cols + ") SELECT " + strings.Join(exprs, ", ") + " FROM " + w.staging.Sanitize() + " AS s"
		if w.mode == sdk.ModeUpsert {
			keys := quotedList(w.key)
			keyExprs := make([]string, len(w.key))
			for i, k := range w.key {
				// The converted key, so that two staged keys that convert
				// to one ('1' and '01' into an integer key) are one row.
				keyExprs[i] = exprs[slices.IndexFunc(w.schema.Fields(), func(f arrow.Field) bool { return f.Name == k })]
			}
			insert = "INSERT INTO " + w.target.Sanitize() + " (" + cols + ") SELECT DISTINCT ON (" + strings.Join(keyExprs, ", ") + ") " +
				strings.Join(exprs, ", ") + " FROM " + w.staging.Sanitize() + " AS s ORDER BY " + strings.Join(keyExprs, ", ") + ", s." + posColumn + " DESC" +
				" ON CONFLICT (" + keys + ") DO "
			var sets []string
			for _, f := range w.schema.Fields() {
				if slices.Contains(w.key, f.Name) {
					continue
				}
				id := pgx.Identifier{f.Name}.Sanitize()
				sets = append(sets, id+" = EXCLUDED."+id)
			}
			if len(sets) == 0 {
				insert += "NOTHING"
			} else {
				insert += "UPDATE SET " + strings.Join(sets, ", ")
			}
		}
		tag, err := tx.Exec(ctx, insert)
		if err != nil {
			return err
		}
		rows = tag.RowsAffected()
		if w.mode != sdk.ModeUpsert && rows != ledgered {
			return lostRows(w, rows, ledgered)
		}
		if w.mode == sdk.ModeUpsert {
			rows = ledgered
		}
		return c.finishCommit(ctx, tx, cfg, w, state, rows, true)
	})
	if err != nil {
		if errclass.Of(err) != errclass.Unknown && pgStateOf(err) == "" {
			return err
		}
		if code := pgStateOf(err); strings.HasPrefix(code, "22") || code == "23514" {
			// A value a conversion refused: name its row and column.
			if perr := c.probeCasts(ctx, pool, cfg, w, convs); perr != nil {
				return perr
			}
		}
		return c.fail(ctx, err, "commit write %s to %s (%s)", writeID, w.target.Sanitize(), w.mode)
	}
	c.mu.Lock()
	if already {
		rows = w.rows
	}
	w.status, w.rows = statusCommitted, rows
	c.mu.Unlock()
	c.logger.Info("write committed", "write_id", writeID, "table", w.target.Sanitize(), "mode", string(w.mode), "rows", rows, "repeat", already)
	return nil
}

// commitWithoutSchema is the commit of a write begun without a schema, in
// the commit's transaction: replace deletes the target's rows (a target
// dropped since BeginWrite is a PERMANENT error); append and upsert change
// nothing.
func (c *Connector) commitWithoutSchema(ctx context.Context, tx pgx.Tx, cfg *config, w *writeInfo, state []byte) error {
	if w.mode == sdk.ModeReplace {
		tcols, err := targetColumns(ctx, tx, w.target)
		if err != nil {
			return err
		}
		if tcols == nil {
			return noTargetError(w)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+w.target.Sanitize()); err != nil {
			return err
		}
	}
	return c.finishCommit(ctx, tx, cfg, w, state, 0, false)
}

// finishCommit ends a commit's transaction: it stores the state blob,
// marks the write committed, forgets its ledger and drops the staging
// (unless the staging became the target).
func (c *Connector) finishCommit(ctx context.Context, tx pgx.Tx, cfg *config, w *writeInfo, state []byte, rows int64, dropStaging bool) error {
	if state != nil {
		if _, err := tx.Exec(ctx, "INSERT INTO "+internal(cfg, stateTable)+" (flow, state, write_id, updated_at) VALUES ($1, $2, $3, now()) "+
			"ON CONFLICT (flow) DO UPDATE SET state = EXCLUDED.state, write_id = EXCLUDED.write_id, updated_at = now()", w.flow, state, w.id); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE "+internal(cfg, writesTable)+" SET status = 'committed', rows = $2, finished_at = now() WHERE write_id = $1", w.id, rows); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM "+internal(cfg, batchesTable)+" WHERE write_id = $1", w.id); err != nil {
		return err
	}
	if !dropStaging {
		return nil
	}
	_, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+w.staging.Sanitize())
	return err
}

// adoptStaging makes a regular staging table the (missing) target, in the
// commit's transaction: the constraints createTarget would give it (NOT
// NULL, the key as primary key), then a move into the target's schema and
// a rename. Nothing is copied; readers see no table, then the whole one.
func (c *Connector) adoptStaging(ctx context.Context, tx pgx.Tx, w *writeInfo) error {
	var alter []string
	for _, f := range w.schema.Fields() {
		if !f.Nullable {
			alter = append(alter, "ALTER COLUMN "+pgx.Identifier{f.Name}.Sanitize()+" SET NOT NULL")
		}
	}
	if len(w.key) > 0 {
		alter = append(alter, "ADD PRIMARY KEY ("+quotedList(w.key)+")")
	}
	if len(alter) > 0 {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+w.staging.Sanitize()+" "+strings.Join(alter, ", ")); err != nil {
			return err
		}
	}
	staging := w.staging
	if w.target[0] != staging[0] {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+staging.Sanitize()+" SET SCHEMA "+pgx.Identifier{w.target[0]}.Sanitize()); err != nil {
			return err
		}
		staging = pgx.Identifier{w.target[0], staging[1]}
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE "+staging.Sanitize()+" RENAME TO "+pgx.Identifier{w.target[1]}.Sanitize()); err != nil {
		return err
	}
	c.logger.Info("created the target table from the staging (renamed into place)", "table", w.target.Sanitize(), "key", strings.Join(w.key, ","))
	return nil
}

func lostRows(w *writeInfo, staged, ledgered int64) error {
	return errclass.Permanentf("postgres: the staging table %s holds %d rows but its ledger records %d: the server lost the UNLOGGED staging (a crash empties unlogged tables); run the flow again",
		w.staging.Sanitize(), staged, ledgered)
}

// createTarget creates the target table from the write's schema: each
// field's type (the source's postgres.type when it names a text-like type
// the data can be cast to), NOT NULL for non-nullable fields, and the key
// as the primary key.
func (c *Connector) createTarget(ctx context.Context, tx pgx.Tx, w *writeInfo) error {
	parts := make([]string, 0, len(w.types)+1)
	for i, f := range w.schema.Fields() {
		p := pgx.Identifier{f.Name}.Sanitize() + " " + createType(f, w.types[i])
		if !f.Nullable {
			p += " NOT NULL"
		}
		parts = append(parts, p)
	}
	if len(w.key) > 0 {
		parts = append(parts, "PRIMARY KEY ("+quotedList(w.key)+")")
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE "+w.target.Sanitize()+" ("+strings.Join(parts, ", ")+")"); err != nil {
		return err
	}
	c.logger.Info("created the target table", "table", w.target.Sanitize(), "key", strings.Join(w.key, ","))
	return nil
}

// createType is the type a new column is created with.
func createType(f arrow.Field, nat pgTarget) string {
	if meta, ok := f.Metadata.GetValue(MetaType); ok {
		isText := nat.oid == oidText || elemOIDs[nat.oid] == oidText
		if isText && textTargets.MatchString(meta) {
			return meta
		}
	}
	return nat.sql
}

// AbortWrite drops the write's staging table and ledger entries and marks
// it aborted. Aborting an unknown, aborted or committed write returns nil
// (a committed write stays committed).
func (c *Connector) AbortWrite(ctx context.Context, writeID string) error {
	cfg, pool, err := c.conn()
	if err != nil {
		return err
	}
	w, err := c.loadWrite(ctx, pool, cfg, writeID)
	if errors.Is(err, errNoWrite) {
		return nil
	}
	if err != nil {
		return err
	}
	if w.status != statusOpen {
		return nil
	}
	if err := c.abort(ctx, pool, cfg, writeID, w.staging[1]); err != nil {
		return err
	}
	c.mu.Lock()
	w.status = statusAborted
	c.mu.Unlock()
	return nil
}

func (c *Connector) abort(ctx context.Context, pool *pgxpool.Pool, cfg *config, writeID, staging string) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE "+internal(cfg, writesTable)+" SET status = 'aborted', finished_at = now() WHERE write_id = $1 AND status = 'open'", writeID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+internal(cfg, batchesTable)+" WHERE write_id = $1", writeID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{cfg.Schema, staging}.Sanitize())
		return err
	})
	return c.fail(ctx, err, "abort write %s", writeID)
}

// CommitReport reports the rows and table of a committed write.
func (c *Connector) CommitReport(writeID string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writes[writeID]
	if w == nil || w.status != statusCommitted {
		return nil
	}
	return map[string]string{sdk.ReportRows: strconv.FormatInt(w.rows, 10), sdk.ReportLocation: w.target.Sanitize(), "mode": string(w.mode)}
}

var _ sdk.CommitReporter = (*Connector)(nil)

// schemaFields is s's fields; none for a nil schema.
func schemaFields(s *arrow.Schema) []arrow.Field {
	if s == nil {
		return nil
	}
	return s.Fields()
}

func sameFields(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}

func pgStateOf(err error) string {
	type sqlstater interface{ SQLState() string }
	var s sqlstater
	if errors.As(err, &s) {
		return s.SQLState()
	}
	return ""
}

func pgStateIs(err error, code string) bool { return err != nil && pgStateOf(err) == code }
