package csvconn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// psqlExport is what psql's \copy (select ...) to 'f.csv' csv header
// writes for a table of bigint, int, float8, numeric(12,2), text,
// timestamptz, bool and a nullable bigint, with NULL written as \N
// (null '\N').
const psqlExport = `id,n,x,amount,name,ts,b,opt
1,10,1.5,12.50,alice,2026-12-07 01:36:12.123456+00,t,\N
2,-3,2.25,-0.10,"bob, jr",2026-12-07 01:36:13+00,f,42
3,7,0.001,99999.00,\N,2026-12-08 09:00:00.5+05:30,t,\N
4,0,-7,1234567890.01,"\N",2026-12-08T09:00:00Z,f,-1
`

func TestPsqlExportKeepsItsTypes(t *testing.T) {
	path := writeFile(t, t.TempDir(), "export.csv", psqlExport)
	c := configured(t, map[string]any{"path": path, "null_values": []string{`\N`, ""}})
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []arrow.DataType{
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64,
		&arrow.Decimal128Type{Precision: 38, Scale: 2}, arrow.BinaryTypes.String,
		&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, arrow.FixedWidthTypes.Boolean,
		arrow.PrimitiveTypes.Int64,
	}
	for i, f := range streams[0].Schema.Fields() {
		if !arrow.TypeEqual(f.Type, want[i]) {
			t.Errorf("column %s: type %s, want %s", f.Name, f.Type, want[i])
		}
	}
	pages := readAll(t, c, sdk.ReadRequest{Stream: "export"})
	rec := pages[0].rec
	if rec.NumRows() != 4 {
		t.Fatalf("%d rows, want 4", rec.NumRows())
	}
	amount := rec.Column(3).(*array.Decimal128)
	for i, w := range []string{"12.50", "-0.10", "99999.00", "1234567890.01"} {
		if got := amount.Value(i).ToString(2); got != w {
			t.Errorf("amount[%d] = %s, want %s", i, got, w)
		}
	}
	name := rec.Column(4).(*array.String)
	if !name.IsNull(2) || name.IsNull(3) || name.Value(3) != `\N` {
		t.Errorf(`name = %v; want a null for \N and the text \N when quoted`, name)
	}
	ts := rec.Column(5).(*array.Timestamp)
	for i, w := range []string{"2026-12-07T01:36:12.123456Z", "2026-12-07T01:36:13Z", "2026-12-08T03:30:00.5Z", "2026-12-08T09:00:00Z"} {
		if got := ts.Value(i).ToTime(arrow.Microsecond).UTC().Format(time.RFC3339Nano); got != w {
			t.Errorf("ts[%d] = %s, want %s", i, got, w)
		}
	}
	b := rec.Column(6).(*array.Boolean)
	if !b.Value(0) || b.Value(1) || !b.Value(2) || b.Value(3) {
		t.Errorf("b = %v, want [true false true false]", b)
	}
	opt := rec.Column(7).(*array.Int64)
	if !opt.IsNull(0) || opt.Value(1) != 42 || !opt.IsNull(2) || opt.Value(3) != -1 {
		t.Errorf("opt = %v, want [null 42 null -1]", opt)
	}
}

func TestDecimalOptions(t *testing.T) {
	content := "amount\n12.50\n-3.00\n"
	tests := []struct {
		name string
		cfg  map[string]any
		want arrow.DataType
	}{
		{"inferred", nil, &arrow.Decimal128Type{Precision: 38, Scale: 2}},
		{"infer_decimals false", map[string]any{"infer_decimals": false}, arrow.PrimitiveTypes.Float64},
		{"declared", map[string]any{"columns": map[string]string{"amount": "decimal(12,3)"}}, &arrow.Decimal128Type{Precision: 12, Scale: 3}},
		{"declared as numeric", map[string]any{"columns": []map[string]string{{"name": "amount", "type": "numeric(5,2)"}}}, &arrow.Decimal128Type{Precision: 5, Scale: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]any{"path": writeFile(t, t.TempDir(), "m.csv", content)}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			c := configured(t, cfg)
			streams, err := c.Discover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := streams[0].Schema.Field(0).Type; !arrow.TypeEqual(got, tt.want) {
				t.Fatalf("type %s, want %s", got, tt.want)
			}
			pages := readAll(t, c, sdk.ReadRequest{Stream: "m"})
			if pages[0].rec.NumRows() != 2 {
				t.Fatalf("%d rows, want 2", pages[0].rec.NumRows())
			}
		})
	}
}

func TestTypedValueErrorsNameLineAndColumn(t *testing.T) {
	tests := []struct {
		name    string
		content string
		cfg     map[string]any
		want    []string
	}{
		{"decimal past its scale", "id,amount\n1,12.50\n2,12.505\n", map[string]any{"columns": map[string]string{"amount": "decimal(12,2)"}},
			[]string{`m.csv", line 3, column "amount": value "12.505" has 3 fraction digits`, "not rounded", "decimal(12,2)"}},
		{"decimal past its precision", "id,amount\n1,1234.50\n", map[string]any{"columns": map[string]string{"amount": "decimal(5,2)"}},
			[]string{`line 2, column "amount": value "1234.50" has 4 integer digits`}},
		{"inferred decimal, a later row with more digits", "amount\n1.25\n2.50\n3.125\n", map[string]any{"sample_rows": 2},
			[]string{`line 4, column "amount"`, "decimal(38,2)", "not rounded"}},
		{"nanoseconds", "ts\n2026-12-07 01:36:12.123456789+00\n", nil,
			[]string{`line 2, column "ts"`, "below the microsecond", "not truncated"}},
		{"infinity", "ts\n2026-12-07 01:36:12+00\ninfinity\n", nil,
			[]string{`line 3, column "ts": value "infinity" is an infinite timestamp`}},
		{"-infinity date", "d\n2026-12-07\n-infinity\n", nil,
			[]string{`line 3, column "d": value "-infinity" is an infinite date`}},
		{"bool", "b\nt\nyes\n", map[string]any{"columns": map[string]string{"b": "bool"}},
			[]string{`line 3, column "b"`, "true, false, t or f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]any{"path": writeFile(t, t.TempDir(), "m.csv", tt.content)}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			c := configured(t, cfg)
			_, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "m"})
			if err == nil {
				t.Fatal("ReadPage succeeded, want an error")
			}
			if errclass.Of(err) != errclass.Permanent {
				t.Errorf("class %s, want PERMANENT", errclass.Of(err))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestIncrementalDecimalCursor(t *testing.T) {
	path := writeFile(t, t.TempDir(), "m.csv", "id,amount\n1,9.99\n2,10.00\n3,10.01\n4,100.50\n")
	c := configured(t, map[string]any{"path": path})
	pages := readAll(t, c, sdk.ReadRequest{Stream: "m", CursorField: "amount", CursorValue: []byte(`"10.00"`)})
	last := pages[len(pages)-1]
	if got := string(last.out.CursorValue); got != `"100.50"` {
		t.Errorf("cursor = %s, want \"100.50\"", got)
	}
	var ids []int64
	for _, p := range pages {
		if p.rec == nil {
			continue
		}
		col := p.rec.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			ids = append(ids, col.Value(i))
		}
	}
	if len(ids) != 2 || ids[0] != 3 || ids[1] != 4 {
		t.Errorf("ids past 10.00 = %v, want [3 4]", ids)
	}
}

func TestSubMicrosecondTruncate(t *testing.T) {
	path := writeFile(t, t.TempDir(), "m.csv", "ts\n2026-12-07 01:36:12.123456789+00\n")
	c := configured(t, map[string]any{"path": path, "sub_microsecond": "truncate"})
	pages := readAll(t, c, sdk.ReadRequest{Stream: "m"})
	ts := pages[0].rec.Column(0).(*array.Timestamp)
	if got := ts.Value(0).ToTime(arrow.Microsecond).UTC().Format(time.RFC3339Nano); got != "2026-12-07T01:36:12.123456Z" {
		t.Errorf("ts = %s, want 2026-12-07T01:36:12.123456Z", got)
	}
}
