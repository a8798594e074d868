package pgsql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

var kvSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// kv builds a batch of (id, name) rows; an empty name is NULL.
func kv(schema *arrow.Schema, pairs ...any) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < len(pairs); i += 2 {
		b.Field(0).(*array.Int64Builder).Append(int64(pairs[i].(int)))
		if s := pairs[i+1].(string); s == "" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(s)
		}
		for j := 2; j < schema.NumFields(); j++ {
			b.Field(j).(*array.Float64Builder).Append(float64(pairs[i].(int)) / 2)
		}
	}
	return b.NewRecordBatch()
}

// rowsOf returns "id=name" for every row of table, by id.
func (e *env) rowsOf(t *testing.T, table string) string {
	t.Helper()
	var s *string
	e.scalar(t, "SELECT string_agg(id || '=' || coalesce(name, 'NULL'), ' ' ORDER BY id) FROM "+e.schema+"."+table, &s)
	if s == nil {
		return ""
	}
	return *s
}

// TestModes checks replace, append and upsert, including upsert over
// existing rows, duplicate keys within one write (the last one wins), and
// the primary key of a table the connector creates.
func TestModes(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	w := func(id string, mode sdk.WriteMode, key []string, recs ...arrow.RecordBatch) error {
		return writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: id, Flow: "f_" + id, Target: "kv", Schema: kvSchema, Mode: mode, Key: key}, recs...)
	}
	// upsert into a missing table creates it with the key as primary key.
	if err := w("u1", sdk.ModeUpsert, []string{"id"}, kv(kvSchema, 1, "a", 2, "b"), kv(kvSchema, 3, "c")); err != nil {
		t.Fatal(err)
	}
	var pk string
	e.scalar(t, `SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
	  WHERE i.indrelid = $1::regclass AND i.indisprimary`, &pk, e.schema+".kv")
	if pk != "id" {
		t.Errorf("created table's primary key = %q, want id", pk)
	}
	if got := e.rowsOf(t, "kv"); got != "1=a 2=b 3=c" {
		t.Fatalf("after first upsert: %s", got)
	}
	// upsert over existing rows, with key 2 twice: the later batch wins.
	if err := w("u2", sdk.ModeUpsert, []string{"id"}, kv(kvSchema, 2, "B", 4, "d"), kv(kvSchema, 2, "B2", 1, "")); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "kv"); got != "1=NULL 2=B2 3=c 4=d" {
		t.Errorf("after upsert over existing rows: %s", got)
	}
	if err := w("a1", sdk.ModeAppend, nil, kv(kvSchema, 5, "e")); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "kv"); got != "1=NULL 2=B2 3=c 4=d 5=e" {
		t.Errorf("after append: %s", got)
	}
	if err := w("r1", sdk.ModeReplace, nil, kv(kvSchema, 7, "x"), kv(kvSchema, 8, "y")); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "kv"); got != "7=x 8=y" {
		t.Errorf("after replace: %s", got)
	}
	// replace with no rows empties the target.
	if err := w("r2", sdk.ModeReplace, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "kv"); got != "" {
		t.Errorf("after empty replace: %s", got)
	}
	// A new source column adds a nullable column.
	wide := arrow.NewSchema(append(kvSchema.Fields(), arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true}), nil)
	if err := writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: "a2", Flow: "f", Target: "kv", Schema: wide, Mode: sdk.ModeAppend}, kv(wide, 9, "z")); err != nil {
		t.Fatal(err)
	}
	var score float64
	e.scalar(t, "SELECT score FROM "+e.schema+".kv WHERE id = 9", &score)
	if score != 4.5 {
		t.Errorf("score = %v", score)
	}
	// An incompatible type is PERMANENT, names the column and both types,
	// and leaves the target as it was.
	before := e.digest(t, "kv")
	bad := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.FixedWidthTypes.Date32, Nullable: true}}, nil)
	err := d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: "bad", Flow: "f", Target: "kv", Schema: bad, Mode: sdk.ModeAppend})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `column "name"`) || !strings.Contains(err.Error(), "type text") || !strings.Contains(err.Error(), "date") {
		t.Errorf("incompatible type: %v (%v)", err, errclass.Of(err))
	}
	// upsert into a table without a unique key on the key columns.
	e.exec(t, "CREATE TABLE "+e.schema+".nouniq (id bigint, name text)")
	err = d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: "nu", Flow: "f", Target: "nouniq", Schema: kvSchema, Mode: sdk.ModeUpsert, Key: []string{"id"}})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "unique constraint") {
		t.Errorf("upsert without unique key: %v", err)
	}
	if e.digest(t, "kv") != before {
		t.Errorf("a refused write changed the target")
	}
	// Casting into an existing table's narrower or text-like types.
	e.exec(t, "CREATE TABLE "+e.schema+".typed (id int PRIMARY KEY, name varchar(10))")
	if err := writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: "ty", Flow: "f", Target: "typed", Schema: kvSchema, Mode: sdk.ModeUpsert, Key: []string{"id"}}, kv(kvSchema, 1, "short")); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "typed"); got != "1=short" {
		t.Errorf("typed: %s", got)
	}
}

// TestLedgerAndCommitIdempotence replays batches (in the same and in a new
// connector, as after a plugin restart), repeats the commit from a new
// connector, and checks the rows are there once and the state blob is
// stored with them.
func TestLedgerAndCommitIdempotence(t *testing.T) {
	e := setup(t)
	req := sdk.WriteRequest{WriteID: "w1", Flow: "orders", Target: "led", Schema: kvSchema, Mode: sdk.ModeAppend}
	d := e.connector(t)
	if err := d.BeginWrite(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := d.BeginWrite(e.ctx, req); err != nil {
		t.Fatalf("BeginWrite again: %v", err)
	}
	b1, b2 := kv(kvSchema, 1, "a", 2, "b"), kv(kvSchema, 3, "c")
	for _, step := range []struct {
		seq int64
		rec arrow.RecordBatch
	}{{1, b1}, {2, b2}, {1, b1}} {
		if err := d.WriteBatch(e.ctx, "w1", step.seq, step.rec); err != nil {
			t.Fatal(err)
		}
	}
	// A new process knows only the write id.
	d2 := e.connector(t)
	if err := d2.WriteBatch(e.ctx, "w1", 2, b2); err != nil {
		t.Fatalf("replay in a new connector: %v", err)
	}
	var exists bool
	e.scalar(t, "SELECT to_regclass($1) IS NOT NULL", &exists, e.schema+".led")
	if exists {
		t.Errorf("the target exists before the commit")
	}
	if err := d2.CommitWrite(e.ctx, "w1", []byte(`{"cursor": 3}`)); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "led"); got != "1=a 2=b 3=c" {
		t.Errorf("after commit: %s", got)
	}
	d3 := e.connector(t)
	if err := d3.CommitWrite(e.ctx, "w1", []byte(`{"cursor": 99}`)); err != nil {
		t.Fatalf("repeated commit: %v", err)
	}
	if err := d.CommitWrite(e.ctx, "w1", nil); err != nil {
		t.Fatalf("repeated commit in the first connector: %v", err)
	}
	if err := d.WriteBatch(e.ctx, "w1", 3, b2); err != nil {
		t.Fatalf("batch after commit: %v", err)
	}
	if got := e.rowsOf(t, "led"); got != "1=a 2=b 3=c" {
		t.Errorf("after repeated commit: %s", got)
	}
	var state string
	e.scalar(t, "SELECT convert_from(state, 'UTF8') FROM "+e.schema+".sqlflow_state WHERE flow = 'orders'", &state)
	if state != `{"cursor": 3}` {
		t.Errorf("stored state = %s", state)
	}
	var staging int
	e.scalar(t, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'sqlflow\\_stage\\_%'", &staging, e.schema)
	if staging != 0 {
		t.Errorf("%d staging tables left after commit", staging)
	}
	if rep := d.CommitReport("w1"); rep["rows"] != "3" {
		t.Errorf("report = %v", rep)
	}
}

// TestAbortAndLeftovers: an aborted write leaves the target unchanged and
// its staging gone; a killed host's staging is dropped by the next
// BeginWrite of the same flow.
func TestAbortAndLeftovers(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	if err := writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: "seed", Flow: "f", Target: "ab", Schema: kvSchema, Mode: sdk.ModeReplace}, kv(kvSchema, 1, "a")); err != nil {
		t.Fatal(err)
	}
	before := e.digest(t, "ab")
	req := sdk.WriteRequest{WriteID: "w2", Flow: "f", Target: "ab", Schema: kvSchema, Mode: sdk.ModeReplace}
	if err := d.BeginWrite(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteBatch(e.ctx, "w2", 1, kv(kvSchema, 2, "b")); err != nil {
		t.Fatal(err)
	}
	if err := d.AbortWrite(e.ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	if err := d.AbortWrite(e.ctx, "w2"); err != nil {
		t.Fatalf("abort again: %v", err)
	}
	if err := d.AbortWrite(e.ctx, "never-begun"); err != nil {
		t.Fatalf("abort unknown: %v", err)
	}
	if err := d.CommitWrite(e.ctx, "w2", nil); errclass.Of(err) != errclass.Permanent {
		t.Errorf("commit after abort: %v", err)
	}
	if e.digest(t, "ab") != before {
		t.Errorf("abort changed the target")
	}
	// A write left open (the host was killed), then the flow's next write.
	if err := d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: "killed", Flow: "f", Target: "ab", Schema: kvSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteBatch(e.ctx, "killed", 1, kv(kvSchema, 3, "c")); err != nil {
		t.Fatal(err)
	}
	stagings := func() int {
		var n int
		e.scalar(t, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'sqlflow\\_stage\\_%'", &n, e.schema)
		return n
	}
	if stagings() != 1 {
		t.Fatalf("staging tables: %d", stagings())
	}
	fresh := e.connector(t)
	if err := fresh.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: "next", Flow: "f", Target: "ab", Schema: kvSchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	var status string
	e.scalar(t, "SELECT status FROM "+e.schema+".sqlflow_writes WHERE write_id = 'killed'", &status)
	if status != "aborted" || stagings() != 1 {
		t.Errorf("leftover write: status %s, %d staging tables (want aborted, 1)", status, stagings())
	}
	if e.digest(t, "ab") != before {
		t.Errorf("cleaning leftovers changed the target")
	}
}

// TestUnsupportedArrowType refuses a struct column with a PERMANENT error.
func TestUnsupportedArrowType(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	s := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32})}}, nil)
	err := d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: "x", Flow: "f", Target: "t", Schema: s, Mode: sdk.ModeAppend})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `column "s"`) {
		t.Errorf("err = %v", err)
	}
}

// TestCommitAdoptsStaging: a write into a table that does not exist yet
// stages into a regular table and the commit renames it into place (with
// the NOT NULL columns and the key createTarget would give it, in the
// target's schema), while a write into an existing table stages UNLOGGED
// and copies. Both end with exactly the written rows and no staging.
func TestCommitAdoptsStaging(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	other := e.schema + "_other"
	e.exec(t, "CREATE SCHEMA "+other)
	t.Cleanup(func() { e.conn.Exec(context.Background(), "DROP SCHEMA "+other+" CASCADE") })
	stagingPersistence := func() string {
		var p *string
		e.scalar(t, "SELECT max(relpersistence::text) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname LIKE 'sqlflow\\_stage\\_%' AND c.relkind = 'r'", &p, e.schema)
		if p == nil {
			return ""
		}
		return *p
	}
	for _, target := range []string{"fresh", other + ".fresh"} {
		req := sdk.WriteRequest{WriteID: "n_" + strings.ReplaceAll(target, ".", "_"), Flow: "adopt", Target: target, Schema: kvSchema, Mode: sdk.ModeReplace, Key: []string{"id"}}
		if err := d.BeginWrite(e.ctx, req); err != nil {
			t.Fatal(err)
		}
		if p := stagingPersistence(); p != "p" {
			t.Errorf("%s: staging of a write into a missing table has relpersistence %q, want p (regular)", target, p)
		}
		for i, r := range []arrow.RecordBatch{kv(kvSchema, 1, "a", 2, ""), kv(kvSchema, 3, "c")} {
			if err := d.WriteBatch(e.ctx, req.WriteID, int64(i+1), r); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.CommitWrite(e.ctx, req.WriteID, nil); err != nil {
			t.Fatal(err)
		}
		name := target
		if !strings.Contains(name, ".") {
			name = e.schema + "." + name
		}
		var got string
		e.scalar(t, "SELECT string_agg(id || '=' || coalesce(name, 'NULL'), ' ' ORDER BY id) FROM "+name, &got)
		if got != "1=a 2=NULL 3=c" {
			t.Errorf("%s after commit: %s", target, got)
		}
		var cols, pk, persistence string
		e.scalar(t, "SELECT string_agg(attname || ':' || attnotnull, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped", &cols, name)
		e.scalar(t, `SELECT coalesce(string_agg(a.attname, ','), '') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		  WHERE i.indrelid = $1::regclass AND i.indisprimary`, &pk, name)
		e.scalar(t, "SELECT relpersistence::text FROM pg_class WHERE oid = $1::regclass", &persistence, name)
		if cols != "id:true,name:false" || pk != "id" || persistence != "p" {
			t.Errorf("%s: columns %s, primary key %q, relpersistence %q; want id:true,name:false, id, p", target, cols, pk, persistence)
		}
		if p := stagingPersistence(); p != "" {
			t.Errorf("%s: a staging table is left after the commit", target)
		}
		if err := d.CommitWrite(e.ctx, req.WriteID, nil); err != nil {
			t.Errorf("%s: repeated commit: %v", target, err)
		}
	}
	// Into the existing table: UNLOGGED staging, copied at commit.
	req := sdk.WriteRequest{WriteID: "again", Flow: "adopt", Target: "fresh", Schema: kvSchema, Mode: sdk.ModeReplace}
	if err := d.BeginWrite(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	if p := stagingPersistence(); p != "u" {
		t.Errorf("staging of a write into an existing table has relpersistence %q, want u (unlogged)", p)
	}
	if err := d.WriteBatch(e.ctx, "again", 1, kv(kvSchema, 7, "g")); err != nil {
		t.Fatal(err)
	}
	if err := d.CommitWrite(e.ctx, "again", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "fresh"); got != "7=g" {
		t.Errorf("after replace into the existing table: %s", got)
	}
}
