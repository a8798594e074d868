package s3conn

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// typedRecord is one row of a time, a list, an interval and a decimal,
// and a row of nulls: types Arrow's csv writer panics on or renders
// unlike the csv connector, and a decimal Arrow's JSON writer renders with
// %g.
func typedRecord(t *testing.T) (*arrow.Schema, arrow.RecordBatch) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "at", Type: arrow.FixedWidthTypes.Time64us, Nullable: true},
		{Name: "ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "span", Type: arrow.FixedWidthTypes.MonthDayNanoInterval, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 9}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Time64Builder).Append(arrow.Time64((1*3600+36*60+12)*1_000_000 + 123456))
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(2).(*array.MonthDayNanoIntervalBuilder).Append(arrow.MonthDayNanoInterval{Months: 1, Days: 2, Nanoseconds: 3000})
	b.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(-1))
	for i := range 4 {
		b.Field(i).AppendNull()
	}
	return schema, b.NewRecordBatch()
}

// TestEncodeCSVAnyType: a csv object can hold every type a flow carries.
// Arrow's csv writer panicked on a time column ("field has unsupported
// data type time64[us]"), found by TestTypeMatrix.
func TestEncodeCSVAnyType(t *testing.T) {
	schema, rec := typedRecord(t)
	defer rec.Release()
	var buf bytes.Buffer
	cfg := config{Delimiter: ',', Header: true}
	if err := encodeTo(&buf, cfg, "csv", schema, rec); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "at,ids,span,amount" {
		t.Fatalf("got %q", buf.String())
	}
	for _, want := range []string{"01:36:12.123456", `"[1,2]"`, "-0.000000001"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %s", lines[1], want)
		}
	}
	if lines[2] != ",,," {
		t.Errorf("null row %q, want ,,,", lines[2])
	}
}

// TestEncodeJSONLDecimalsExact: a decimal is written as a JSON string of
// its exact value, not Arrow's %g form (-1e-09).
func TestEncodeJSONLDecimalsExact(t *testing.T) {
	schema, rec := typedRecord(t)
	defer rec.Release()
	var buf bytes.Buffer
	if err := encodeTo(&buf, config{}, "jsonl", schema, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"amount":"-0.000000001"`) {
		t.Fatalf("got %s", buf.String())
	}
}

// TestJSONLSchemaSample: numbers that are all 64-bit integers in the
// sampled lines are int64 and keep every digit (they were float64, so
// 9007199254740993 came back as 9007199254740992); a fraction anywhere in
// the sample makes float64; a key null in the first line takes the type of
// its later values.
func TestJSONLSchemaSample(t *testing.T) {
	lines := [][]byte{
		[]byte(`{"id": 9007199254740993, "qty": 1, "later": null, "mixed": 1, "ok": true, "doc": {"a": 1}}`),
		[]byte(`{"id": -9223372036854775808, "qty": 1.5, "later": 7, "mixed": "x", "ok": false}`),
	}
	s, err := jsonSchemaOf(lines, "s3://b/k.jsonl", true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]arrow.DataType{
		"id": arrow.PrimitiveTypes.Int64, "qty": arrow.PrimitiveTypes.Float64, "later": arrow.PrimitiveTypes.Int64,
		"mixed": arrow.BinaryTypes.String, "ok": arrow.FixedWidthTypes.Boolean, "doc": arrow.BinaryTypes.String,
	}
	if s.NumFields() != len(want) {
		t.Fatalf("schema %s", s)
	}
	for _, f := range s.Fields() {
		if !arrow.TypeEqual(f.Type, want[f.Name]) {
			t.Errorf("%s: %s, want %s", f.Name, f.Type, want[f.Name])
		}
	}

	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	index := map[string]int{}
	for i, f := range s.Fields() {
		index[f.Name] = i
	}
	if err := appendJSON(b, index, lines[0]); err != nil {
		t.Fatal(err)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if got := rec.Column(0).(*array.Int64).Value(0); got != 9007199254740993 {
		t.Fatalf("id %d", got)
	}
	// A later line with a fraction in an int64 column is an error naming
	// the field, not a rounded value.
	err = appendJSON(b, index, []byte(`{"id": 2.5}`))
	if err == nil || !strings.Contains(err.Error(), `field "id": "2.5" is not an integer`) {
		t.Fatalf("got %v", err)
	}
}

// TestJSONLSchemaDecimals: numbers that all have the same number of
// fraction digits in the sampled lines are decimal(38,s) with
// infer_decimals, float64 without; an integer or another scale among them
// makes float64.
func TestJSONLSchemaDecimals(t *testing.T) {
	lines := [][]byte{
		[]byte(`{"amount": 12.50, "rate": 1.5, "mix": 1.25, "exp": 1.50}`),
		[]byte(`{"amount": -0.10, "rate": 2.25, "mix": 3, "exp": 2.5e1}`),
	}
	for _, tc := range []struct {
		decimals bool
		want     string
	}{
		{true, "amount:decimal(38, 2) rate:float64 mix:float64 exp:float64"},
		{false, "amount:float64 rate:float64 mix:float64 exp:float64"},
	} {
		s, err := jsonSchemaOf(lines, "s3://b/k.jsonl", tc.decimals)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range s.Fields() {
			got = append(got, f.Name+":"+f.Type.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("decimals %v: %s, want %s", tc.decimals, strings.Join(got, " "), tc.want)
		}
	}
}
