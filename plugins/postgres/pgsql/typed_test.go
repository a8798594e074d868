package pgsql_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// perfRowsDDL is a psql-style typed table, as a user creates it before
// loading a file into it.
const perfRowsDDL = `(id bigint NOT NULL, qty integer, score double precision, price numeric(12,2),
  name text, created_at timestamp with time zone, active boolean, parent bigint)`

// perfCSV is the rows of the acceptance tests, as a CSV file psql loads.
var perfCSV = [][]string{
	{"1", "10", "0.5", "12.34", "alpha", "2024-05-01T08:00:00+02:00", "true", "7"},
	{"2", "-3", "1e-07", "-0.05", "beta, with comma", "2024-05-01 06:00:00Z", "f", ""},
	{"3", "2147483647", "123456.789", "9999999999.99", "", "1999-12-31T23:59:59.123456Z", "yes", "9223372036854775807"},
	{"4", "", "", "", "", "", "", ""},
}

// loadPsqlStyle loads perfCSV into table with COPY … (FORMAT csv), what
// psql's \copy does: the reference the connector's loads must equal.
func (e *env) loadPsqlStyle(t *testing.T, table string) {
	t.Helper()
	var sb strings.Builder
	for _, r := range perfCSV {
		for i, v := range r {
			if i > 0 {
				sb.WriteByte(',')
			}
			if v != "" {
				sb.WriteString(`"` + strings.ReplaceAll(v, `"`, `""`) + `"`)
			}
		}
		sb.WriteByte('\n')
	}
	_, err := e.conn.PgConn().CopyFrom(e.ctx, strings.NewReader(sb.String()), "COPY "+e.schema+"."+table+" FROM STDIN (FORMAT csv)")
	if err != nil {
		t.Fatalf("COPY the reference rows: %v", err)
	}
}

// textSchema is the rows as a CSV source that recognises integers and
// floats but not timestamps, booleans or decimals sends them.
var textSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "price", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "created_at", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "active", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "parent", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// typedSchema is the rows as a CSV source that recognises every type
// sends them: decimals as decimal128 (of another precision and scale
// than the column's), timestamps as timestamp[us, UTC], booleans as bool.
var typedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "parent", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// perfBatch builds rows [from, to) of perfCSV in schema (textSchema or
// typedSchema); an empty field is null, as the reference COPY reads it.
func perfBatch(t *testing.T, schema *arrow.Schema, from, to int) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range perfCSV[from:to] {
		for j, v := range r {
			fb := b.Field(j)
			if v == "" {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(v)
			case *array.Int64Builder:
				fb.Append(mustInt(t, v))
			case *array.Float64Builder:
				fb.Append(mustFloat(t, v))
			case *array.Decimal128Builder:
				n, err := decimal128.FromString(v, 18, 4)
				if err != nil {
					t.Fatal(err)
				}
				fb.Append(n)
			case *array.TimestampBuilder:
				ts, err := time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "T", 1))
				if err != nil {
					t.Fatal(err)
				}
				fb.Append(arrow.Timestamp(ts.UnixMicro()))
			case *array.BooleanBuilder:
				fb.Append(v == "true" || v == "yes")
			default:
				t.Fatalf("builder %T", fb)
			}
		}
	}
	return b.NewRecordBatch()
}

// TestLoadIntoTypedTable is issue 17's acceptance: an existing psql-style
// typed table (create table t (like perf_rows)) takes the rows whether
// they arrive as text (a CSV source that does not recognise timestamps,
// booleans and decimals) or typed (decimal128, timestamp, bool), in every
// mode, and holds exactly what psql's COPY of the same file holds.
func TestLoadIntoTypedTable(t *testing.T) {
	e := setup(t)
	e.exec(t, "CREATE TABLE "+e.schema+".perf_rows "+perfRowsDDL)
	e.loadPsqlStyle(t, "perf_rows")
	want := e.digest(t, "perf_rows")
	d := e.connector(t)
	for _, tc := range []struct {
		name   string
		schema *arrow.Schema
		mode   sdk.WriteMode
	}{
		{"text append", textSchema, sdk.ModeAppend},
		{"text replace", textSchema, sdk.ModeReplace},
		{"text upsert", textSchema, sdk.ModeUpsert},
		{"typed append", typedSchema, sdk.ModeAppend},
		{"typed upsert", typedSchema, sdk.ModeUpsert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "t_" + randHex()
			e.exec(t, "CREATE TABLE "+e.schema+"."+table+" (LIKE "+e.schema+".perf_rows)")
			var key []string
			if tc.mode == sdk.ModeUpsert {
				e.exec(t, "ALTER TABLE "+e.schema+"."+table+" ADD PRIMARY KEY (id)")
				key = []string{"id"}
			}
			if tc.mode == sdk.ModeReplace {
				e.exec(t, "INSERT INTO "+e.schema+"."+table+" (id) VALUES (99)")
			}
			id := "w_" + randHex()
			req := sdk.WriteRequest{WriteID: id, Flow: "f_" + id, Target: table, Schema: tc.schema, Mode: tc.mode, Key: key}
			if err := writeRecords(t, e.ctx, d, req, perfBatch(t, tc.schema, 0, 2), perfBatch(t, tc.schema, 2, 4)); err != nil {
				t.Fatal(err)
			}
			if got := e.digest(t, table); got != want {
				var rows string
				e.scalar(t, "SELECT string_agg(t::text, E'\\n') FROM "+e.schema+"."+table+" t", &rows)
				t.Errorf("the table differs from psql's load:\n%s", rows)
			}
		})
	}
}

// TestLoadRefusedValue checks that a value the target's type refuses
// fails the commit PERMANENT, naming the row (within the write, and as
// batch and row) and the column with the server's message, and leaves
// the target as it was; and that the other lossy conversions (integer
// overflow, a too-long varchar, a float NaN or a fraction into numeric or
// integer columns) fail the same way instead of changing the value.
func TestLoadRefusedValue(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	type col struct {
		name string
		typ  arrow.DataType
		vals []any
	}
	for _, tc := range []struct {
		name    string
		ddl     string // the target's second column
		col     col
		upsert  bool
		wantMsg string
	}{
		{"bad timestamp text", "timestamptz", col{"v", arrow.BinaryTypes.String, []any{"2024-01-01", "2024-01-02", "not a time"}}, false, `invalid input syntax for type timestamp with time zone: "not a time"`},
		{"int64 overflows int4", "integer", col{"v", arrow.PrimitiveTypes.Int64, []any{int64(1), int64(2), int64(3_000_000_000)}}, false, "integer out of range"},
		{"too long for varchar(3)", "varchar(3)", col{"v", arrow.BinaryTypes.String, []any{"a", "bc", "defg"}}, true, "value too long for type character varying(3)"},
		{"float NaN into numeric", "numeric(12,2)", col{"v", arrow.PrimitiveTypes.Float64, []any{1.5, 2.25, math.NaN()}}, false, "the float value NaN has no numeric value"},
		{"float infinity into numeric", "numeric", col{"v", arrow.PrimitiveTypes.Float64, []any{1.5, 2.25, math.Inf(-1)}}, false, "the float value -Infinity has no numeric value"},
		{"float fraction into integer", "bigint", col{"v", arrow.PrimitiveTypes.Float64, []any{1.0, 2.0, 2.5}}, false, `invalid input syntax for type bigint: "2.5"`},
		{"bad uuid", "uuid", col{"v", arrow.BinaryTypes.String, []any{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12", "zz"}}, true, `invalid input syntax for type uuid: "zz"`},
		{"decimal overflows numeric(12,2)", "numeric(12,2)", col{"v", &arrow.Decimal128Type{Precision: 18, Scale: 4}, []any{"1.5", "2.2500", "123456789012.5"}}, false, "numeric field overflow"},
		{"decimal would round into numeric(12,2)", "numeric(12,2)", col{"v", &arrow.Decimal128Type{Precision: 18, Scale: 4}, []any{"1.5", "2.2500", "2.2550"}}, false, "the value 2.2550 has more fraction digits than the column's scale (2) keeps; it is not rounded"},
		{"text would round into numeric(12,2)", "numeric(12,2)", col{"v", arrow.BinaryTypes.String, []any{"1.5", "2.250", "12.345"}}, false, "the value 12.345 has more fraction digits than the column's scale (2) keeps; it is not rounded"},
		{"float would round into numeric(12,2)", "numeric(12,2)", col{"v", arrow.PrimitiveTypes.Float64, []any{1.5, 2.25, 0.125}}, false, "the value 0.125 has more fraction digits than the column's scale (2) keeps; it is not rounded"},
		{"bad boolean", "boolean", col{"v", arrow.BinaryTypes.String, []any{"t", "false", "maybe"}}, false, `invalid input syntax for type boolean: "maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "r_" + randHex()
			e.exec(t, "CREATE TABLE "+e.schema+"."+table+" (id bigint PRIMARY KEY, v "+tc.ddl+")")
			e.exec(t, "INSERT INTO "+e.schema+"."+table+" VALUES (100, NULL)")
			before := e.digest(t, table)
			schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "v", Type: tc.col.typ, Nullable: true}}, nil)
			batch := func(ids []int64, vals []any) arrow.RecordBatch {
				b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
				defer b.Release()
				for i, id := range ids {
					b.Field(0).(*array.Int64Builder).Append(id)
					switch v := vals[i].(type) {
					case string:
						if sb, ok := b.Field(1).(*array.StringBuilder); ok {
							sb.Append(v)
						}
					case int64:
						b.Field(1).(*array.Int64Builder).Append(v)
					case float64:
						b.Field(1).(*array.Float64Builder).Append(v)
					}
					if db, ok := b.Field(1).(*array.Decimal128Builder); ok {
						n, err := decimal128.FromString(vals[i].(string), 18, 4)
						if err != nil {
							t.Fatal(err)
						}
						db.Append(n)
					}
				}
				return b.NewRecordBatch()
			}
			// Batch 1: two good rows; batch 2: a good row, then the bad one
			// (the third value), then a good one.
			good := tc.col.vals[0]
			b1 := batch([]int64{1, 2}, []any{good, tc.col.vals[1]})
			b2 := batch([]int64{3, 4, 5}, []any{tc.col.vals[1], tc.col.vals[2], good})
			mode, key := sdk.ModeAppend, []string(nil)
			if tc.upsert {
				mode, key = sdk.ModeUpsert, []string{"id"}
			}
			id := "w_" + randHex()
			err := writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: id, Flow: "f_" + id, Target: table, Schema: schema, Mode: mode, Key: key}, b1, b2)
			if errclass.Of(err) != errclass.Permanent {
				t.Fatalf("err = %v (%v), want PERMANENT", err, errclass.Of(err))
			}
			t.Log(err)
			for _, want := range []string{"row 4 of the write (batch 2, row 2)", `column "v"`, tc.wantMsg} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if got := e.digest(t, table); got != before {
				t.Errorf("a failed write changed the target")
			}
			if err := d.AbortWrite(e.ctx, id); err != nil {
				t.Errorf("AbortWrite: %v", err)
			}
		})
	}
}

// TestLoadSameTypesKeepsStaging checks that a write whose types equal the
// target's stages without the position column (the fast path is
// unchanged) while a converting one has it.
func TestLoadSameTypesKeepsStaging(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	e.exec(t, "CREATE TABLE "+e.schema+".same (id bigint, name text)")
	e.exec(t, "CREATE TABLE "+e.schema+".conv (id integer, name text)")
	for _, tc := range []struct {
		table string
		pos   bool
	}{{"same", false}, {"conv", true}} {
		id := "w_" + randHex()
		if err := d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: id, Flow: "f_" + id, Target: tc.table, Schema: kvSchema, Mode: sdk.ModeAppend}); err != nil {
			t.Fatal(err)
		}
		var pos bool
		e.scalar(t, `SELECT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE n.nspname = $1 AND c.relname LIKE 'sqlflow_stage_%' AND a.attname = '_sqlflow_pos' AND c.relname LIKE '%' || $2 || '%')`, &pos, e.schema, strings.ToLower(id[2:]))
		if pos != tc.pos {
			t.Errorf("%s: staging has the position column = %v, want %v", tc.table, pos, tc.pos)
		}
		if err := d.WriteBatch(e.ctx, id, 1, kv(kvSchema, 1, "a")); err != nil {
			t.Fatal(err)
		}
		if err := d.CommitWrite(e.ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadTextListIntoTypedArray checks a list of strings into an
// existing uuid[] column (each element through uuid's input).
func TestLoadTextListIntoTypedArray(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	e.exec(t, "CREATE TABLE "+e.schema+".arr (id bigint, u uuid[])")
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "u", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).Append("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
	id := "w_" + randHex()
	if err := writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: id, Flow: "f_" + id, Target: "arr", Schema: schema, Mode: sdk.ModeAppend}, b.NewRecordBatch()); err != nil {
		t.Fatal(err)
	}
	var got string
	e.scalar(t, "SELECT u::text FROM "+e.schema+".arr", &got)
	if got != "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}" {
		t.Errorf("u = %s", got)
	}
}

// TestUpsertConvertedKey checks that an upsert whose key converts (text
// into an integer key) dedupes on the converted key: '1' and '01' are one
// row, the later one wins.
func TestUpsertConvertedKey(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	e.exec(t, "CREATE TABLE "+e.schema+".ck (id integer PRIMARY KEY, name text)")
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range [][2]string{{"1", "first"}, {"2", "two"}, {"01", "last"}} {
		b.Field(0).(*array.StringBuilder).Append(r[0])
		b.Field(1).(*array.StringBuilder).Append(r[1])
	}
	id := "w_" + randHex()
	if err := writeRecords(t, e.ctx, d, sdk.WriteRequest{WriteID: id, Flow: "f_" + id, Target: "ck", Schema: schema, Mode: sdk.ModeUpsert, Key: []string{"id"}}, b.NewRecordBatch()); err != nil {
		t.Fatal(err)
	}
	if got := e.rowsOf(t, "ck"); got != "1=last 2=two" {
		t.Errorf("rows: %s", got)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return f
}

// TestLoadRefusedInBatch checks the values the server refuses while a
// batch is staged (COPY): a string that is not valid UTF-8 (or holds a NUL
// byte), and dates and timestamps PostgreSQL cannot hold (past its range,
// or wrapping when converted to its microseconds, or the integers it
// reads as ±infinity). The batch fails PERMANENT naming the batch, row and
// column; nothing is staged for it.
func TestLoadRefusedInBatch(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	for _, tc := range []struct {
		name    string
		typ     arrow.DataType
		bad     func(array.Builder)
		wantMsg string
	}{
		{"invalid utf-8", arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("caf\xe9") }, `invalid byte sequence for encoding "UTF8"`},
		{"nul byte", arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("a\x00b") }, `invalid byte sequence for encoding "UTF8": 0x00`},
		{"timestamp before postgres range (4713 BC)", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
			func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(math.MinInt64 / 2)) }, "timestamp out of range"},
		{"timestamp seconds overflow", &arrow.TimestampType{Unit: arrow.Second},
			func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(math.MaxInt64 / 100)) }, "timestamp out of range"},
		{"timestamp that postgres reads as -infinity", &arrow.TimestampType{Unit: arrow.Microsecond},
			func(b array.Builder) {
				b.(*array.TimestampBuilder).Append(arrow.Timestamp(math.MinInt64 + 946684800000000))
			}, "timestamp out of range"},
		{"date past postgres range", arrow.FixedWidthTypes.Date32,
			func(b array.Builder) { b.(*array.Date32Builder).Append(arrow.Date32(math.MinInt32 + 5)) }, "date out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "v", Type: tc.typ, Nullable: true}}, nil)
			b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			defer b.Release()
			for i := range 3 {
				b.Field(0).(*array.Int64Builder).Append(int64(i))
				if i == 1 {
					tc.bad(b.Field(1))
				} else {
					b.Field(1).AppendNull()
				}
			}
			rec := b.NewRecordBatch()
			defer rec.Release()
			id := "w_" + randHex()
			table := "b_" + randHex()
			if err := d.BeginWrite(e.ctx, sdk.WriteRequest{WriteID: id, Flow: "f_" + id, Target: table, Schema: schema, Mode: sdk.ModeAppend}); err != nil {
				t.Fatal(err)
			}
			if err := d.WriteBatch(e.ctx, id, 1, kvBatchOf(t, schema, 2)); err != nil {
				t.Fatal(err)
			}
			err := d.WriteBatch(e.ctx, id, 2, rec)
			if errclass.Of(err) != errclass.Permanent {
				t.Fatalf("err = %v (%v), want PERMANENT", err, errclass.Of(err))
			}
			t.Log(err)
			for _, want := range []string{"row 4 of the write (batch 2, row 2)", `column "v"`, tc.wantMsg} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if err := d.AbortWrite(e.ctx, id); err != nil {
				t.Errorf("AbortWrite: %v", err)
			}
		})
	}
}

// kvBatchOf is n rows of ids and null values in schema.
func kvBatchOf(t *testing.T, schema *arrow.Schema, n int) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(100 + i))
		b.Field(1).AppendNull()
	}
	return b.NewRecordBatch()
}
