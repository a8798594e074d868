package pgsql_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/plugins/parquet/parquetconn"
	"github.com/sqlflow/sqlflow-host/plugins/postgres/pgsql"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// allTypes creates a table with every mapped type: three rows of values
// (extremes included) and one row of nulls.
func allTypes(t *testing.T, e *env, table string) {
	allTypesExcept(t, e, table, "")
}

// allTypesExcept is allTypes without the column drop (when not empty).
func allTypesExcept(t *testing.T, e *env, table, drop string) {
	e.exec(t, "CREATE TYPE "+e.schema+".mood AS ENUM ('sad', 'ok', 'happy')")
	e.exec(t, `CREATE TABLE `+e.schema+`.`+table+` (
	  id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint,
	  n numeric(12,3), nbig numeric(38,10), nfree numeric,
	  f4 real, f8 double precision, b boolean,
	  t text, vc varchar(20), ch char(5),
	  d date, tm time, ts timestamp, tstz timestamptz, iv interval,
	  u uuid, j json, jb jsonb, by bytea,
	  ai int[], at text[], an numeric(6,2)[], ats timestamptz[],
	  m `+e.schema+`.mood)`)
	e.exec(t, `INSERT INTO `+e.schema+`.`+table+` VALUES
	  (1, -32768, -2147483648, -9223372036854775808, -123456789.123, 1234567890123456789012345678.0123456789, 3.14159265358979323846264338327950288419716939937510,
	   -1.5, -2.25e300, true, 'héllo, "wörld"', 'varchar', 'ab', '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '1900-06-30 12:00:00+00', '-1 year 2 mons -3 days 04:05:06.789',
	   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": {"c": null}}', '\x00ff10',
	   '{1,NULL,3}', '{"x",NULL,"y,z"}', '{1.25,-0.5}', '{"2024-01-01 00:00:00+00"}', 'sad'),
	  (2, 32767, 2147483647, 9223372036854775807, 0.001, -0.0000000001, -1e-30,
	   3.25, 1e-300, false, '', 'v', 'abcde', '2099-12-31', '23:59:59.999999', '2038-01-19 03:14:08.123456', '2024-02-29 23:59:59.999999+00', '0',
	   '00000000-0000-0000-0000-000000000000', '[]', '[]', '\x', '{}', '{}', '{}', '{}', 'happy'),
	  (3, 0, 0, 0, 0, 0, 0, 0, 0, true, 'x', 'y', 'z', '2000-01-01', '12:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00', '1 day',
	   'ffffffff-ffff-ffff-ffff-ffffffffffff', 'null', '1', '\x61', '{7}', '{""}', '{NULL}', '{NULL}', 'ok'),
	  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	if drop != "" {
		e.exec(t, "ALTER TABLE "+e.schema+"."+table+" DROP COLUMN "+drop)
	}
}

// TestTypeMapping checks the Arrow schema Discover reports for every
// mapped type, as docs/connectors/postgres.md lists it.
func TestTypeMapping(t *testing.T) {
	e := setup(t)
	allTypes(t, e, "types")
	c := e.connector(t, "table", "types")
	streams, err := c.Discover(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Name != e.schema+".types" {
		t.Fatalf("streams = %+v", streams)
	}
	want := map[string]string{
		"id": "int32", "i2": "int16", "i4": "int32", "i8": "int64",
		"n": "decimal(12, 3)", "nbig": "decimal(38, 10)", "nfree": "utf8",
		"f4": "float32", "f8": "float64", "b": "bool",
		"t": "utf8", "vc": "utf8", "ch": "utf8",
		"d": "date32", "tm": "time64[us]", "ts": "timestamp[us]", "tstz": "timestamp[us, tz=UTC]", "iv": "month_day_nano_interval",
		"u": "utf8", "j": "utf8", "jb": "utf8", "by": "binary",
		"ai": "list<item: int32, nullable>", "at": "list<item: utf8, nullable>", "an": "list<item: decimal(6, 2), nullable>",
		"ats": "list<item: timestamp[us, tz=UTC], nullable>", "m": "utf8",
	}
	s := streams[0].Schema
	for _, f := range s.Fields() {
		if got := f.Type.String(); got != want[f.Name] {
			t.Errorf("column %s: Arrow type %s, want %s", f.Name, got, want[f.Name])
		}
	}
	if f, _ := s.FieldsByName("u"); f[0].Metadata.Values()[0] != "uuid" {
		t.Errorf("uuid metadata = %v", f[0].Metadata)
	}
	if f, _ := s.FieldsByName("id"); f[0].Nullable {
		t.Errorf("id is nullable in the schema")
	}
	if strings.Join(streams[0].PrimaryKey, ",") != "id" {
		t.Errorf("primary key = %v", streams[0].PrimaryKey)
	}
	if got := strings.Join(streams[0].CursorFields, ","); got != "id,i2,i4,i8,n,nbig,nfree,d,ts,tstz" {
		t.Errorf("cursor fields = %s", got)
	}
}

// TestRoundTrip copies a table of every mapped type, with nulls, through
// the connectors and the host's pipeline in-process: postgres → parquet →
// postgres (without the interval column: pqarrow cannot write Arrow's
// month_day_nano intervals) and postgres → postgres (every type). The copy
// has the same column types and the same rows.
func TestRoundTrip(t *testing.T) {
	types := func(e *env, table string) string {
		var s string
		e.scalar(t, `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		  FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, &s, e.schema+"."+table)
		return s
	}
	compare := func(t *testing.T, e *env) {
		// The enum comes back as text (the destination does not create
		// types); everything else keeps its type.
		want := strings.Replace(types(e, "types"), "m "+e.schema+".mood", "m text", 1)
		if got := types(e, "types_copy"); got != want {
			t.Errorf("column types differ:\n got  %s\n want %s", got, want)
		}
		if a, b := e.digest(t, "types"), e.digest(t, "types_copy"); a != b {
			var rows []string
			r, _ := e.conn.Query(e.ctx, "SELECT t::text FROM "+e.schema+".types t UNION ALL SELECT '---' UNION ALL SELECT t::text FROM "+e.schema+".types_copy t")
			for r.Next() {
				var s string
				r.Scan(&s)
				rows = append(rows, s)
			}
			t.Errorf("rows differ:\n%s", strings.Join(rows, "\n"))
		}
	}
	t.Run("via parquet", func(t *testing.T) {
		e := setup(t)
		allTypesExcept(t, e, "types", "iv")
		dir := t.TempDir()
		src := e.connector(t)
		pq := parquetconn.New(nil)
		if fe, err := pq.Configure(e.ctx, json.RawMessage(fmt.Sprintf(`{"path": %q}`, dir))); err != nil || len(fe) > 0 {
			t.Fatal(fe, err)
		}
		if _, err := flow(e.ctx, src, pq, e.schema+".types", "types.parquet", sdk.ModeReplace, nil, pipeline.Options{MaxRows: 2}); err != nil {
			t.Fatalf("postgres → parquet: %v", err)
		}
		pqs := parquetconn.New(nil)
		if fe, err := pqs.Configure(e.ctx, json.RawMessage(fmt.Sprintf(`{"path": %q}`, dir+"/types.parquet"))); err != nil || len(fe) > 0 {
			t.Fatal(fe, err)
		}
		res, err := flow(e.ctx, pqs, e.connector(t), "", "types_copy", sdk.ModeReplace, nil, pipeline.Options{})
		if err != nil {
			t.Fatalf("parquet → postgres: %v", err)
		}
		if res.Rows != 4 {
			t.Errorf("moved %d rows, want 4", res.Rows)
		}
		compare(t, e)
	})
	t.Run("postgres to postgres", func(t *testing.T) {
		e := setup(t)
		allTypes(t, e, "types")
		res, err := flow(e.ctx, e.connector(t), e.connector(t), e.schema+".types", "types_copy", sdk.ModeReplace, nil, pipeline.Options{MaxRows: 3})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != 4 {
			t.Errorf("moved %d rows, want 4", res.Rows)
		}
		compare(t, e)
	})
}

// TestResumeCompositeKey reads a table with a composite (text, timestamptz)
// primary key in small pages, then resumes from every checkpoint in a new
// connector: the rows after it are exactly the rest.
func TestResumeCompositeKey(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".ev (region text, at timestamptz, v int, PRIMARY KEY (region, at))")
	e.exec(t, "INSERT INTO "+e.schema+".ev SELECT r, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', i FROM generate_series(1, 40) i, unnest(ARRAY['eu', 'us', 'Ünïcode', 'a b']) r")
	c := e.connector(t)
	req := sdk.ReadRequest{Stream: e.schema + ".ev", MaxRows: 13}
	cps, sums, _ := readAll(t, e.ctx, c, req)
	all := total(sums)
	if all.Rows != 160 {
		t.Fatalf("read %d rows, want 160", all.Rows)
	}
	for i, cp := range cps[:len(cps)-1] {
		fresh := e.connector(t)
		r := req
		r.Checkpoint = cp
		_, rest, _ := readAll(t, e.ctx, fresh, r)
		got := total(sums[:i+1])
		got.Merge(total(rest))
		if got != all {
			t.Errorf("resume after page %d: %v, want %v", i+1, got, all)
		}
	}
}

// TestNoKeyFallbacks reads a table without a primary key (ctid order), a
// view (OFFSET order), a query with a key and one without, resuming from
// every checkpoint.
func TestNoKeyFallbacks(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".nokey (a int, b text)")
	e.exec(t, "INSERT INTO "+e.schema+".nokey SELECT i % 10, 'dup' FROM generate_series(1, 95) i") // many identical rows
	e.exec(t, "CREATE VIEW "+e.schema+".v AS SELECT a, b FROM "+e.schema+".nokey WHERE a < 5")
	tests := []struct {
		name   string
		kv     []any
		stream string
		rows   int64
	}{
		{"table without key (ctid)", nil, "nokey", 95},
		{"view without key (offset)", nil, "v", 49},
		{"query with key", []any{"query", "SELECT i AS id, i * 2 AS twice FROM generate_series(1, 77) i", "key", "id"}, "query", 77},
		{"query without key (offset)", []any{"query", "SELECT a, b FROM " + e.schema + ".nokey;"}, "query", 95},
		{"table with a configured key", []any{"table", "nokey", "key", []string{"a", "b"}}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.connector(t, tt.kv...)
			stream := tt.stream
			if stream != "query" && stream != "" {
				stream = e.schema + "." + stream
			}
			req := sdk.ReadRequest{Stream: stream, MaxRows: 9}
			if tt.rows == 0 {
				// A configured key that is not unique still reads every row
				// once per distinct key value: keyset needs a unique key.
				_, err := c.ReadPage(e.ctx, req)
				if err != nil {
					t.Fatalf("ReadPage: %v", err)
				}
				return
			}
			cps, sums, _ := readAll(t, e.ctx, c, req)
			all := total(sums)
			if all.Rows != tt.rows {
				t.Fatalf("read %d rows, want %d", all.Rows, tt.rows)
			}
			for i, cp := range cps[:len(cps)-1] {
				fresh := e.connector(t, tt.kv...)
				r := req
				r.Checkpoint = cp
				_, rest, _ := readAll(t, e.ctx, fresh, r)
				got := total(sums[:i+1])
				got.Merge(total(rest))
				if got != all {
					t.Errorf("resume after page %d: %v, want %v", i+1, got, all)
				}
			}
		})
	}
}

// TestIncremental reads rows with cursor > the stored value, with many
// ties on the cursor across page boundaries: keyset on (cursor, key) reads
// each row once, and the reported cursor is the greatest value read.
func TestIncremental(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".orders (id int PRIMARY KEY, updated_at timestamptz, amount numeric(10,2))")
	// 100 rows over 10 distinct timestamps (10 ties each), plus 5 rows
	// with a NULL cursor.
	e.exec(t, "INSERT INTO "+e.schema+".orders SELECT i, timestamptz '2024-05-01 00:00:00+00' + (i % 10) * interval '1 hour', i FROM generate_series(1, 100) i")
	e.exec(t, "INSERT INTO "+e.schema+".orders SELECT i, NULL, i FROM generate_series(101, 105) i")
	tests := []struct {
		name   string
		field  string
		value  string
		incl   bool
		rows   int64
		cursor string
	}{
		{"no stored value", "updated_at", "", false, 100, `"2024-05-01T09:00:00Z"`},
		{"timestamp cursor", "updated_at", `"2024-05-01T06:00:00Z"`, false, 30, `"2024-05-01T09:00:00Z"`},
		{"timestamp cursor, other zone", "updated_at", `"2024-05-01T08:00:00+02:00"`, false, 30, `"2024-05-01T09:00:00Z"`},
		{"inclusive", "updated_at", `"2024-05-01T06:00:00Z"`, true, 40, `"2024-05-01T09:00:00Z"`},
		{"integer cursor", "id", `90`, false, 15, `105`},
		{"numeric cursor as string", "amount", `"99.5"`, false, 6, `"105.00"`},
		{"past the end", "updated_at", `"2030-01-01T00:00:00Z"`, false, 0, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.connector(t, "cursor_inclusive", tt.incl)
			req := sdk.ReadRequest{Stream: e.schema + ".orders", MaxRows: 7, CursorField: tt.field}
			if tt.value != "" {
				req.CursorValue = json.RawMessage(tt.value)
			}
			var got rowhash.Sum
			var cursor json.RawMessage
			for {
				p, err := c.ReadPage(e.ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				got.Add(p.Records)
				p.Records.Release()
				cursor = p.CursorValue
				if p.Done {
					break
				}
				req.Checkpoint = p.Checkpoint
				// Every page in a new connector: the checkpoint is all it needs.
				c = e.connector(t, "cursor_inclusive", tt.incl)
			}
			if got.Rows != tt.rows {
				t.Errorf("read %d rows, want %d", got.Rows, tt.rows)
			}
			if string(cursor) != tt.cursor {
				t.Errorf("cursor = %s, want %s", cursor, tt.cursor)
			}
		})
	}
	t.Run("bad cursor column", func(t *testing.T) {
		c := e.connector(t)
		_, err := c.ReadPage(e.ctx, sdk.ReadRequest{Stream: e.schema + ".orders", CursorField: "nope"})
		if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("err = %v (%v)", err, errclass.Of(err))
		}
	})
}

// TestLargePageCapped checks that pages stay near MaxBytes.
func TestLargePageCapped(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".wide (id bigint PRIMARY KEY, s text)")
	e.exec(t, "INSERT INTO "+e.schema+".wide SELECT i, repeat('x', 1000) FROM generate_series(1, 5000) i")
	c := e.connector(t)
	req := sdk.ReadRequest{Stream: e.schema + ".wide", MaxBytes: 1 << 20}
	pages := 0
	var rows int64
	for {
		p, err := c.ReadPage(e.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		n := p.Records.NumRows()
		if n > 1100 {
			t.Errorf("page of %d rows of 1 KB for MaxBytes 1 MiB", n)
		}
		rows += n
		p.Records.Release()
		pages++
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	if rows != 5000 || pages < 5 {
		t.Errorf("%d rows in %d pages", rows, pages)
	}
}

var _ = arrow.Field{}
var _ = pgsql.MetaType

// TestDiscoverEstimatedRows: after ANALYZE a table's EstimatedRows is its
// planner row count (pg_class.reltuples); a view, the query and a table
// never analyzed are 0 (unknown).
func TestDiscoverEstimatedRows(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".big (id int PRIMARY KEY, v text)")
	e.exec(t, "INSERT INTO "+e.schema+".big SELECT g, 'row ' || g FROM generate_series(1, 5000) g")
	e.exec(t, "CREATE TABLE "+e.schema+".fresh (id int)")
	e.exec(t, "CREATE VIEW "+e.schema+".big_view AS SELECT * FROM "+e.schema+".big")
	e.exec(t, "ANALYZE "+e.schema+".big")
	streams, err := e.connector(t).Discover(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range streams {
		got[s.Name] = s.EstimatedRows
	}
	want := map[string]int64{e.schema + ".big": 5000, e.schema + ".fresh": 0, e.schema + ".big_view": 0}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("stream %s: EstimatedRows = %d, want %d (all: %v)", name, got[name], n, got)
		}
	}
	q, err := e.connector(t, "query", "SELECT * FROM "+e.schema+".big").Discover(e.ctx)
	if err != nil || len(q) != 1 || q[0].EstimatedRows != 0 {
		t.Errorf("query stream: %+v, %v; want EstimatedRows 0", q, err)
	}
}
