package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// Every destination's summary line names where the data went and how many
// rows, the same way.
func TestSummaryNamesWhereDataWent(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: orders, generate: {rows: 500, seed: 1}}
destinations:
  lake: {type: parquet, path: out}
  files: {type: csv, path: out}
  scratch: {type: memory}
flows:
  - {name: to_parquet, from: gen, to: lake, target: orders.parquet}
  - {name: to_csv, from: gen, to: files, target: orders.csv}
  - {name: to_memory, from: gen, to: scratch, target: orders}
`)
	r := cli(t, "run", p)
	expect(t, r, 0)
	out := filepath.Join(dir, "out")
	for flow, want := range map[string]string{
		"to_parquet": "ok, 500 rows → " + filepath.Join(out, "orders.parquet"),
		"to_csv":     "ok, 500 rows → " + filepath.Join(out, "orders.csv"),
		"to_memory":  "ok, 500 rows → memory:orders (checksum=",
	} {
		if line := summaryLine(t, r, flow); !strings.Contains(line, want) {
			t.Errorf("flow %s: summary line %q lacks %q", flow, line, want)
		}
	}
}

func TestReportText(t *testing.T) {
	tests := []struct {
		name   string
		report map[string]string
		want   string
	}{
		{"none", nil, ""},
		{"file", map[string]string{sdk.ReportLocation: "/out/a.parquet", sdk.ReportRows: "500"}, ", 500 rows → /out/a.parquet"},
		{"one row", map[string]string{sdk.ReportLocation: "/out/a.csv", sdk.ReportRows: "1"}, ", 1 row → /out/a.csv"},
		{"rows unknown", map[string]string{sdk.ReportLocation: "/out/a.csv"}, " → /out/a.csv"},
		{"table and mode", map[string]string{sdk.ReportLocation: `"public"."t"`, sdk.ReportRows: "3", "mode": "append"}, `, 3 rows → "public"."t" (mode=append)`},
		{"s3 prefix and manifest", map[string]string{sdk.ReportLocation: "s3://b/p/t/", sdk.ReportManifest: "s3://b/p/t/_manifest.json", sdk.ReportRows: "2"},
			", 2 rows → s3://b/p/t/ (manifest=s3://b/p/t/_manifest.json)"},
		{"no location (an older plugin)", map[string]string{"file": "/x", "rows": "2"}, " file=/x rows=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reportText(tt.report); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Failed flows show the time they took, and the last line names them in a
// sentence.
func TestSummaryFailedFlows(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad1.csv", "id,name\n1,a\n2,b,extra\n")
	write(t, dir, "bad2.csv", "id,name\n1,a\n2,b,extra\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  bad1: {type: csv, path: bad1.csv}
  bad2: {type: csv, path: bad2.csv}
destinations:
  out: {type: csv, path: out}
flows:
  - {name: items_a, from: bad1, to: out, target: a.csv}
  - {name: items_b, from: bad2, to: out, target: b.csv}
`)
	r := cli(t, "run", p)
	expect(t, r, 1, "error: 2 of 2 flows failed: items_a, items_b\n")
	for _, flow := range []string{"items_a", "items_b"} {
		fields := strings.Fields(summaryLine(t, r, flow))
		// FLOW ROWS BYTES(2 fields) SECONDS ...
		if len(fields) < 5 {
			t.Errorf("flow %s: summary line %q", flow, fields)
		}
	}
	// The time is measured: a flow that fails within milliseconds (its
	// plugin already started while the host learnt its Spec) shows 0.00
	// in the table, so the JSON output's unrounded seconds are checked.
	r = cli(t, "--output", "json", "run", p)
	var doc struct {
		Flows []struct {
			Name    string  `json:"name"`
			Status  string  `json:"status"`
			Seconds float64 `json:"seconds"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Flows) != 2 {
		t.Fatalf("json: %v\n%s", err, r)
	}
	for _, f := range doc.Flows {
		if f.Status != "failed" || f.Seconds <= 0 {
			t.Errorf("flow %s: status %s, seconds %v", f.Name, f.Status, f.Seconds)
		}
	}
}

// The postgres and s3 destinations name their table, or their dataset's
// prefix and manifest, and the rows, as the file destinations do.
func TestSummaryServiceDestinations(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		requireService(t, "postgres")
		dsn := testenv.Postgres(t)
		var b [4]byte
		rand.Read(b[:])
		tag := hex.EncodeToString(b[:])
		pgExec(t, dsn, "CREATE SCHEMA sum_"+tag)
		t.Cleanup(func() { pgExec(t, dsn, "DROP SCHEMA sum_"+tag+" CASCADE") })
		p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: orders, generate: {rows: 7, seed: 1}}
destinations:
  pg: {type: postgres, dsn: "${SQLFLOW_TEST_POSTGRES}", schema: sum_`+tag+`}
flows:
  - {name: to_pg, from: gen, to: pg, target: orders}
`)
		r := cli(t, "run", p)
		expect(t, r, 0)
		if line, want := summaryLine(t, r, "to_pg"), `ok, 7 rows → "sum_`+tag+`"."orders" (mode=replace)`; !strings.Contains(line, want) {
			t.Fatalf("summary line %q lacks %q", line, want)
		}
	})
	t.Run("s3", func(t *testing.T) {
		requireService(t, "s3")
		b := newEmptyBucket(t)
		p := write(t, t.TempDir(), "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: orders, generate: {rows: 7, seed: 1}}
destinations:
  lake: `+b.dest("landing").yaml+`
flows:
  - {name: to_s3, from: gen, to: lake, target: orders}
`)
		r := cli(t, "run", p)
		expect(t, r, 0)
		want := "ok, 7 rows → s3://" + b.name + "/landing/orders/ (manifest=s3://" + b.name + "/landing/orders/_SUCCESS)"
		if line := summaryLine(t, r, "to_s3"); !strings.Contains(line, want) {
			t.Fatalf("summary line %q lacks %q", line, want)
		}
	})
}
