package main_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestPsqlCSVExport reads what psql's \copy ... csv header (null '\N')
// writes: exact decimals, timestamptz with +00, t/f booleans and \N nulls.
func TestPsqlCSVExport(t *testing.T) {
	srv := newServer(t)
	srv.put(t, "psql/a.csv", []byte("id,amount,ts,b,opt\n"+
		"1,12.50,2026-12-07 01:36:12.123456+00,t,\\N\n"+
		"2,-0.10,2026-12-07 07:06:12+05:30,f,42\n"))
	cfg := srv.config(t, map[string]any{"path_prefix": "psql/", "csv_null_values": []string{`\N`, ""}})
	r := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: "psql"}, 0)
	want := []string{"int64", "decimal(38, 2)", "timestamp[us, tz=UTC]", "bool", "int64"}
	for i, f := range r.schema.Fields() {
		if f.Type.String() != want[i] {
			t.Errorf("column %s is %s, want %s", f.Name, f.Type, want[i])
		}
	}
	rows := []string{"1|12.5|2026-12-07T01:36:12.123456Z|true|<null>", "2|-0.1|2026-12-07T01:36:12Z|false|42"}
	if strings.Join(r.rows, "\n") != strings.Join(rows, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(r.rows, "\n"), strings.Join(rows, "\n"))
	}

	off := srv.config(t, map[string]any{"path_prefix": "psql/", "csv_null_values": []string{`\N`, ""}, "infer_decimals": false})
	r = readFrom(t, configure(t, off), off, sdk.ReadRequest{Stream: "psql"}, 0)
	if got := r.schema.Field(1).Type.String(); got != "float64" {
		t.Errorf("infer_decimals false: amount is %s, want float64", got)
	}

	srv.put(t, "psqlbad/a.csv", []byte("id,amount\n1,12.50\n2,12.505\n"))
	bad := srv.config(t, map[string]any{"path_prefix": "psqlbad/", "csv_columns": map[string]string{"amount": "decimal(12,2)"}})
	_, err := configure(t, bad).ReadPage(context.Background(), sdk.ReadRequest{Stream: "psqlbad"})
	for _, w := range []string{"psqlbad/a.csv", "line 3", `column "amount"`, `"12.505"`, "not rounded"} {
		if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), w) {
			t.Fatalf("a decimal past its scale: %v, want PERMANENT mentioning %s", err, w)
		}
	}
}

// TestJSONLDecimals: a jsonl number written with a fixed number of
// fraction digits in the sampled lines is a decimal; later lines may write
// it as a number or a string, and one with more digits fails by line.
func TestJSONLDecimals(t *testing.T) {
	srv := newServer(t)
	srv.put(t, "jd/a.jsonl", []byte(`{"id": 1, "amount": 12.50, "ratio": 1.5e3}`+"\n"+`{"id": 2, "amount": "7.25", "ratio": 2}`+"\n"+`{"id": 3, "amount": 3}`+"\n"))
	// One sampled line: the later lines' string and integer amounts are
	// read into the decimal column, exactly.
	cfg := srv.config(t, map[string]any{"path_prefix": "jd/", "csv_sample_rows": 1})
	r := readFrom(t, configure(t, cfg), cfg, sdk.ReadRequest{Stream: "jd"}, 0)
	want := []string{"int64", "decimal(38, 2)", "float64"}
	for i, f := range r.schema.Fields() {
		if f.Type.String() != want[i] {
			t.Errorf("field %s is %s, want %s", f.Name, f.Type, want[i])
		}
	}
	if strings.Join(r.rows, ";") != "1|12.5|1500;2|7.25|2;3|3|<null>" {
		t.Errorf("rows %q", r.rows)
	}
	srv.put(t, "jdbad/a.jsonl", []byte(`{"amount": 12.50}`+"\n"+`{"amount": 12.505}`+"\n"))
	bad := srv.config(t, map[string]any{"path_prefix": "jdbad/", "csv_sample_rows": 1})
	_, err := configure(t, bad).ReadPage(context.Background(), sdk.ReadRequest{Stream: "jdbad"})
	for _, w := range []string{"jdbad/a.jsonl", "line 2", `field "amount"`, "not rounded", "infer_decimals"} {
		if !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), w) {
			t.Fatalf("a decimal past its scale: %v, want PERMANENT mentioning %s", err, w)
		}
	}
}
