package pgsql_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// columnsOf lists a table's columns with their types, in order.
func (e *env) columnsOf(t *testing.T, table string) string {
	t.Helper()
	var s *string
	e.scalar(t, `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
	  FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, &s, e.schema+"."+table)
	if s == nil {
		return ""
	}
	return *s
}

// exists reports whether schema.name is a relation.
func (e *env) exists(t *testing.T, name string) bool {
	t.Helper()
	var ok bool
	e.scalar(t, "SELECT to_regclass($1) IS NOT NULL", &ok, e.schema+"."+name)
	return ok
}

// A replace without a schema (an empty stream whose columns are unknown)
// deletes the target's rows in the commit's transaction and keeps the
// table itself: its columns, their types, its identity (oid) and its
// indexes. The commit stores the state blob, is idempotent (also in a new
// process), and an aborted one changes nothing.
func TestReplaceWithoutSchemaKeepsTheTable(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".kv (id bigint PRIMARY KEY, name text, price numeric(10,2) NOT NULL DEFAULT 0, tags jsonb)")
	e.exec(t, "INSERT INTO "+e.schema+".kv (id, name) VALUES (1, 'a'), (2, 'b')")
	cols := e.columnsOf(t, "kv")
	var oid uint32
	e.scalar(t, "SELECT $1::regclass::oid", &oid, e.schema+".kv")
	d := e.connector(t)

	abort := sdk.WriteRequest{WriteID: "w_abort", Flow: "f", Target: "kv", Mode: sdk.ModeReplace}
	if err := d.BeginWrite(e.ctx, abort); err != nil {
		t.Fatalf("BeginWrite without a schema: %v", err)
	}
	if err := d.AbortWrite(e.ctx, abort.WriteID); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "kv"); got != "1=a 2=b" {
		t.Fatalf("after an aborted empty replace: %s", got)
	}

	req := sdk.WriteRequest{WriteID: "w_empty", Flow: "f", Target: "kv", Mode: sdk.ModeReplace}
	if err := d.BeginWrite(e.ctx, req); err != nil {
		t.Fatalf("BeginWrite without a schema: %v", err)
	}
	if err := d.BeginWrite(e.ctx, req); err != nil {
		t.Fatalf("BeginWrite repeated: %v", err)
	}
	if err := d.WriteBatch(e.ctx, req.WriteID, 1, kv(kvSchema, 3, "c")); errclass.Of(err) != errclass.Permanent {
		t.Fatalf("WriteBatch into a write without a schema: %v; want PERMANENT", err)
	}
	if got := e.count(t, "kv"); got != 2 {
		t.Fatalf("rows before the commit: %d", got)
	}
	// The commit comes to a restarted plugin.
	d2 := e.connector(t)
	if err := d2.CommitWrite(e.ctx, req.WriteID, []byte(`{"cursor": null}`)); err != nil {
		t.Fatalf("CommitWrite: %v", err)
	}
	if err := d2.CommitWrite(e.ctx, req.WriteID, nil); err != nil {
		t.Fatalf("repeated CommitWrite: %v", err)
	}
	if err := e.connector(t).CommitWrite(e.ctx, req.WriteID, nil); err != nil {
		t.Fatalf("repeated CommitWrite in a new process: %v", err)
	}
	if got := e.count(t, "kv"); got != 0 {
		t.Fatalf("the emptied table holds %d rows", got)
	}
	if got := e.columnsOf(t, "kv"); got != cols {
		t.Fatalf("columns after the empty replace: %s; want %s", got, cols)
	}
	var after uint32
	e.scalar(t, "SELECT $1::regclass::oid", &after, e.schema+".kv")
	if after != oid {
		t.Fatal("the table was dropped and created again")
	}
	var state string
	e.scalar(t, "SELECT convert_from(state, 'UTF8') FROM "+e.schema+".sqlflow_state WHERE flow = 'f'", &state)
	if state != `{"cursor": null}` {
		t.Errorf("stored state = %s", state)
	}
	if rep := d2.CommitReport(req.WriteID); rep["rows"] != "0" || rep["mode"] != "replace" {
		t.Errorf("report %v", rep)
	}
	// The primary key still holds, and the table takes rows again.
	if err := writeRecords(t, e.ctx, d2, sdk.WriteRequest{WriteID: "w_rows", Flow: "f", Target: "kv", Schema: kvSchema, Mode: sdk.ModeUpsert, Key: []string{"id"}},
		kv(kvSchema, 5, "e")); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "kv"); got != "5=e" {
		t.Fatalf("after writing to the emptied table: %s", got)
	}
	var staging int
	e.scalar(t, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'sqlflow_stage_%'", &staging, e.schema)
	if staging != 0 {
		t.Errorf("%d staging tables left", staging)
	}
}

// A replace without a schema into a table that does not exist fails
// PERMANENT, saying so, and creates nothing: no table, not even the
// connector's own tables.
func TestReplaceWithoutSchemaNoTarget(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	err := d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "missing", Mode: sdk.ModeReplace})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "no schema") {
		t.Fatalf("BeginWrite = %v; want PERMANENT: the target does not exist and no schema is known", err)
	}
	var n int
	e.scalar(t, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1", &n, e.schema)
	if n != 0 {
		t.Fatalf("the refused write created %d relations in the schema", n)
	}
	if err := d.AbortWrite(e.ctx, "w"); err != nil {
		t.Fatalf("AbortWrite of the refused write: %v", err)
	}

	// A target dropped between BeginWrite and CommitWrite fails the
	// commit the same way, and is not created.
	e.exec(t, "CREATE TABLE "+e.schema+".gone (id bigint)")
	if err := d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: "w2", Flow: "f", Target: "gone", Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	e.exec(t, "DROP TABLE "+e.schema+".gone")
	if err := d.CommitWrite(e.ctx, "w2", nil); errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("CommitWrite after the target was dropped: %v; want PERMANENT", err)
	}
	if e.exists(t, "gone") {
		t.Fatal("the commit created the dropped target")
	}
}

// An append or upsert without a schema commits without changing the
// target (existing or not), and stores the state blob.
func TestAppendWithoutSchemaChangesNothing(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	if err := writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: "w0", Flow: "seed", Target: "kv", Schema: kvSchema, Mode: sdk.ModeReplace}, kv(kvSchema, 1, "a")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		mode   sdk.WriteMode
		key    []string
	}{
		{"kv", sdk.ModeAppend, nil},
		{"kv", sdk.ModeUpsert, []string{"id"}},
		{"missing", sdk.ModeAppend, nil},
	}
	for i, tt := range tests {
		req := sdk.WriteRequest{WriteID: "w" + string(rune('1'+i)), Flow: "flow_" + string(tt.mode), Target: tt.target, Mode: tt.mode, Key: tt.key}
		if err := d.BeginWrite(e.ctx, req); err != nil {
			t.Fatalf("BeginWrite(%+v): %v", req, err)
		}
		if err := d.CommitWrite(e.ctx, req.WriteID, []byte("s")); err != nil {
			t.Fatalf("CommitWrite(%s): %v", req.WriteID, err)
		}
		if err := e.connector(t).CommitWrite(e.ctx, req.WriteID, []byte("s")); err != nil {
			t.Fatalf("CommitWrite(%s) repeated in a new process: %v", req.WriteID, err)
		}
	}
	if got := e.rowsOf(t, "kv"); got != "1=a" {
		t.Fatalf("kv holds %s", got)
	}
	if e.exists(t, "missing") {
		t.Fatal("an append without a schema created its target")
	}
	var n int
	e.scalar(t, "SELECT count(*) FROM "+e.schema+".sqlflow_state WHERE flow LIKE 'flow_%'", &n)
	if n != 2 {
		t.Fatalf("%d state blobs stored, want 2 (one per flow)", n)
	}
}

// An empty table, view or query result is a clean end of the stream:
// Discover gives its columns, and a read, full or incremental, from any
// page cap, is one done page of no rows in that schema, and reports no
// cursor (the stored one stays). Copied into a table in replace mode it
// makes the table with those columns and no rows.
func TestSourceEmptyResults(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".empty_pk (id int PRIMARY KEY, updated_at timestamptz, note text)")
	e.exec(t, "CREATE TABLE "+e.schema+".empty_nokey (id int, updated_at timestamptz, note text)")
	e.exec(t, "CREATE VIEW "+e.schema+".empty_view AS SELECT id, updated_at, note FROM "+e.schema+".empty_nokey")
	e.exec(t, "CREATE TABLE "+e.schema+".full (id int PRIMARY KEY, updated_at timestamptz, note text)")
	e.exec(t, "INSERT INTO "+e.schema+".full SELECT i, timestamptz '2024-05-01 00:00:00+00' + i * interval '1 minute', 'n' FROM generate_series(1, 30) i")
	query := "SELECT id, updated_at, note FROM " + e.schema + ".full WHERE id < 0"
	tests := []struct {
		name   string
		kv     []any
		stream string
	}{
		{"empty table with a key (keyset)", []any{"table", "empty_pk"}, e.schema + ".empty_pk"},
		{"empty table without a key (ctid)", []any{"table", "empty_nokey"}, e.schema + ".empty_nokey"},
		{"empty view (offset)", []any{"table", "empty_view"}, e.schema + ".empty_view"},
		{"query of no rows, with a key", []any{"query", query, "key", "id"}, "query"},
		{"query of no rows, without a key", []any{"query", query + ";"}, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.connector(t, tt.kv...)
			streams, err := c.Discover(e.ctx)
			if err != nil || len(streams) != 1 || streams[0].Name != tt.stream {
				t.Fatalf("Discover = %+v, %v; want one stream %q", streams, err, tt.stream)
			}
			want := streams[0].Schema
			if want == nil || want.NumFields() != 3 {
				t.Fatalf("Discover's schema %v; want the 3 columns", want)
			}
			for _, req := range []sdk.ReadRequest{
				{Stream: tt.stream},
				{Stream: tt.stream, MaxRows: 1},
				{Stream: tt.stream, CursorField: "updated_at"},
				{Stream: tt.stream, CursorField: "updated_at", CursorValue: json.RawMessage(`"2024-05-01T00:00:00Z"`)},
			} {
				p, err := e.connector(t, tt.kv...).ReadPage(e.ctx, req)
				if err != nil {
					t.Fatalf("ReadPage(%+v): %v", req, err)
				}
				if !p.Done || p.Records == nil || p.Records.NumRows() != 0 || !p.Records.Schema().Equal(want) || len(p.CursorValue) > 0 {
					t.Fatalf("ReadPage(%+v) = done %v, records %v, cursor %s; want done, no rows in the stream's schema, no cursor",
						req, p.Done, p.Records, p.CursorValue)
				}
				p.Records.Release()
			}
		})
	}

	t.Run("nothing new since the stored cursor", func(t *testing.T) {
		c := e.connector(t, "table", "full")
		p, err := c.ReadPage(e.ctx, sdk.ReadRequest{Stream: e.schema + ".full", CursorField: "updated_at", CursorValue: json.RawMessage(`"2024-05-01T00:30:00Z"`)})
		if err != nil || !p.Done || p.Records.NumRows() != 0 || len(p.CursorValue) > 0 {
			t.Fatalf("ReadPage = %+v, %v", p, err)
		}
		p.Records.Release()
	})

	t.Run("into a new table", func(t *testing.T) {
		src := e.connector(t, "query", query, "key", "id")
		res, err := flow(e.ctx, src, e.connector(t), "query", "copy_of_empty", sdk.ModeReplace, nil, pipeline.Options{})
		if err != nil || res.Rows != 0 {
			t.Fatalf("flow: %+v, %v", res, err)
		}
		if got := e.columnsOf(t, "copy_of_empty"); got != "id integer, updated_at timestamp with time zone, note text" {
			t.Fatalf("the new table's columns: %q", got)
		}
		if n := e.count(t, "copy_of_empty"); n != 0 {
			t.Fatalf("the new table holds %d rows", n)
		}
	})
}
