package coltype_test

import (
	"encoding/json"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/coltype"
)

func TestInfer(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   coltype.Type
	}{
		{"none", nil, coltype.String},
		{"ints", []string{"1", "-2", "+30"}, coltype.Int64},
		{"leading zero stays a string", []string{"007"}, coltype.String},
		{"ints and floats", []string{"1", "2.5", "1e3"}, coltype.Float64},
		{"one scale is a decimal", []string{"12.50", "-3.00", "0.99", "+1.10"}, coltype.Decimal(38, 2)},
		{"varying scales are floats", []string{"12.5", "3.00"}, coltype.Float64},
		{"ints and a decimal are floats", []string{"12", "3.00"}, coltype.Float64},
		{"an exponent is a float", []string{"1.50", "2.50e3"}, coltype.Float64},
		{"more than 38 digits is a float", []string{"1234567890123456789012345678901234567.50"}, coltype.Float64},
		{"leading zero is no decimal", []string{"01.50"}, coltype.String},
		{"psql bools", []string{"t", "f", "T"}, coltype.Bool},
		{"psql timestamptz", []string{"2026-12-07 01:36:12.123456+00", "2026-12-07 01:36:12+05:30", "2026-12-07T01:36:12.1+0530", "2026-12-07T01:36:12Z"}, coltype.Timestamp},
		{"infinity among timestamps", []string{"2026-12-07 01:36:12+00", "infinity", "-infinity"}, coltype.Timestamp},
		{"infinity among dates", []string{"2026-12-07", "-infinity"}, coltype.Date},
		{"only infinity", []string{"infinity"}, coltype.String},
		{"nanoseconds keep the column a timestamp", []string{"2026-12-07 01:36:12.123456789+00"}, coltype.Timestamp},
		{"no NaN", []string{"NaN"}, coltype.String},
		{"bools", []string{"true", "FALSE"}, coltype.Bool},
		{"dates", []string{"2024-05-01"}, coltype.Date},
		{"timestamps", []string{"2024-05-01T12:30:00Z", "2024-05-01 12:30"}, coltype.Timestamp},
		{"dates and timestamps", []string{"2024-05-01", "2024-05-01T12:30:00Z"}, coltype.String},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coltype.Infer(tt.values, coltype.InferOptions{Decimals: true}); got != tt.want {
				t.Errorf("Infer(%q) = %s, want %s", tt.values, got, tt.want)
			}
			if tt.want.Kind == coltype.KindDecimal {
				if got := coltype.Infer(tt.values, coltype.InferOptions{}); got != coltype.Float64 {
					t.Errorf("Infer(%q) without decimals = %s, want float64", tt.values, got)
				}
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		t    coltype.Type
		text string
		json string
	}{
		{"int", coltype.Int64, "42", "42"},
		{"float", coltype.Float64, "2.5", "2.5"},
		{"date", coltype.Date, "2024-05-01", `"2024-05-01"`},
		{"timestamp", coltype.Timestamp, "2024-05-01 12:30:00+02:00", `"2024-05-01T10:30:00Z"`},
		{"string", coltype.String, "b", `"b"`},
		{"decimal", coltype.Decimal(12, 2), "-12.5", `"-12.50"`},
		{"big decimal", coltype.Decimal(38, 2), "123456789012345678901234567890123456.01", `"123456789012345678901234567890123456.01"`},
		{"psql timestamptz", coltype.Timestamp, "2026-12-07 01:36:12.123456+00", `"2026-12-07T01:36:12.123456Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := coltype.Parse(tt.t, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got := coltype.CursorJSON(tt.t, v)
			if string(got) != tt.json {
				t.Fatalf("CursorJSON = %s, want %s", got, tt.json)
			}
			back, ok, err := coltype.ParseCursor(tt.t, got)
			if err != nil || !ok || back != v {
				t.Fatalf("ParseCursor(%s) = %v %v %v, want %v", got, back, ok, err, v)
			}
			if coltype.Less(tt.t, v, back) || coltype.Less(tt.t, back, v) {
				t.Fatalf("a value is not equal to itself")
			}
		})
	}
	if _, ok, err := coltype.ParseCursor(coltype.Int64, json.RawMessage("null")); ok || err != nil {
		t.Fatalf("null cursor: %v %v", ok, err)
	}
	if _, _, err := coltype.ParseCursor(coltype.Int64, json.RawMessage(`"x"`)); err == nil {
		t.Fatal("a string cursor on an int64 column was accepted")
	}
}

func TestParseColumns(t *testing.T) {
	m, msg := coltype.ParseColumns(json.RawMessage(`{"a": "int", "b": "Timestamp"}`))
	if msg != "" || m["a"] != coltype.Int64 || m["b"] != coltype.Timestamp {
		t.Fatalf("map: %v %q", m, msg)
	}
	m, msg = coltype.ParseColumns(json.RawMessage(`[{"name": "a", "type": "double"}]`))
	if msg != "" || m["a"] != coltype.Float64 {
		t.Fatalf("list: %v %q", m, msg)
	}
	m, msg = coltype.ParseColumns(json.RawMessage(`{"a": "decimal(12,2)", "b": "NUMERIC(10)"}`))
	if msg != "" || m["a"] != coltype.Decimal(12, 2) || m["b"] != coltype.Decimal(10, 0) {
		t.Fatalf("decimals: %v %q", m, msg)
	}
	if _, msg = coltype.ParseColumns(json.RawMessage(`{"a": "decimal"}`)); msg == "" {
		t.Fatal("unknown type accepted")
	}
	if _, msg = coltype.ParseColumns(json.RawMessage(`7`)); msg == "" {
		t.Fatal("a number accepted")
	}
	want := `entry 1: unknown key "tpye" (did you mean type?); allowed keys: name, type`
	if _, msg = coltype.ParseColumns(json.RawMessage(`[{"name": "a", "type": "int"}, {"name": "b", "tpye": "int"}]`)); msg != want {
		t.Fatalf("misspelt key in a list entry: %q, want %q", msg, want)
	}
	want = `entry 0: must be {"name": ..., "type": ...}`
	if _, msg = coltype.ParseColumns(json.RawMessage(`[{"type": "int"}]`)); msg != want {
		t.Fatalf("entry without a name: %q, want %q", msg, want)
	}
}
