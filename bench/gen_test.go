package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func TestAppendCSVRowTimestamps(t *testing.T) {
	for _, s := range []int64{0, createdAtBase, createdAtBase + 86399, 951782400 /* 2000-02-29 */, 4102444800 + 12345} {
		got := string(appendTimestamp(nil, s))
		want := time.Unix(s, 0).UTC().Format("2006-01-02T15:04:05Z")
		if got != want {
			t.Errorf("appendTimestamp(%d) = %s, want %s", s, got, want)
		}
	}
}

func TestWriteCSVDeterministicAndSized(t *testing.T) {
	var a, b bytes.Buffer
	rowsA, nA, err := WriteCSV(&a, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rowsB, nB, _ := WriteCSV(&b, 1<<20)
	if !bytes.Equal(a.Bytes(), b.Bytes()) || rowsA != rowsB || nA != nB {
		t.Fatal("two runs of WriteCSV differ")
	}
	if nA < 1<<20 || nA > 1<<20+200 || int64(a.Len()) != nA {
		t.Fatalf("wrote %d bytes (buffer %d), want just over %d", nA, a.Len(), 1<<20)
	}
	lines := strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n")
	if int64(len(lines)) != rowsA+1 || lines[0] != CSVHeader {
		t.Fatalf("got %d lines (first %q), want header + %d rows", len(lines), lines[0], rowsA)
	}
	avg := float64(nA) / float64(rowsA)
	if avg < 85 || avg > 115 {
		t.Errorf("average row is %.1f bytes, want about 100", avg)
	}
	var nullDiscount, nullNote int
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != CSVColumns {
			t.Fatalf("row %q has %d fields", l, len(f))
		}
		if f[5] == "" {
			nullDiscount++
		}
		if f[12] == "" {
			nullNote++
		}
	}
	if share := float64(nullDiscount) / float64(rowsA); share < 0.15 || share > 0.25 {
		t.Errorf("discount is empty in %.2f of rows, want about 0.2", share)
	}
	if share := float64(nullNote) / float64(rowsA); share < 0.45 || share > 0.55 {
		t.Errorf("note is empty in %.2f of rows, want about 0.5", share)
	}
}

// TestGeneratedCSVTypes checks that the csv connector infers the intended
// types, so the benchmark exercises int, float, string, timestamp and bool
// parsing and nulls. The benchmarks read with infer_decimals: false (their
// recorded numbers parse amount and discount as floats); by default the
// two money columns are decimal(38,2).
func TestGeneratedCSVTypes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := WriteCSV(f, 2<<20)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := csvconn.New(hclog.NewNullLogger())
	if fe, err := c.Configure(context.Background(), json.RawMessage(`{"path": `+strconv.Quote(path)+`}`)); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	streams, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := streams[0].Schema.Field(4).Type.String() + " " + streams[0].Schema.Field(5).Type.String(); got != "decimal(38, 2) decimal(38, 2)" {
		t.Errorf("amount and discount by default: %s, want decimal(38, 2)", got)
	}
	c = csvconn.New(hclog.NewNullLogger())
	cfg, _ := json.Marshal(map[string]any{"path": path, "infer_decimals": false})
	if fe, err := c.Configure(context.Background(), cfg); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	streams, err = c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fl := range streams[0].Schema.Fields() {
		got = append(got, fl.Name+":"+fl.Type.String())
	}
	want := "id:int64 customer_id:int64 store_id:int64 qty:int64 amount:float64 discount:float64 sku:utf8 name:utf8 city:utf8 category:utf8 created_at:timestamp[us, tz=UTC] active:bool note:utf8"
	if strings.Join(got, " ") != want {
		t.Fatalf("schema\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	var n int64
	req := sdk.ReadRequest{Stream: streams[0].Name}
	for {
		p, err := c.ReadPage(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		n += p.Records.NumRows()
		p.Records.Release()
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	if n != rows {
		t.Fatalf("read %d rows, wrote %d", n, rows)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256MiB": 256 << 20, "1GiB": 1 << 30, "2G": 2 << 30, "512M": 512 << 20, "1000": 1000, "1.5GiB": 3 << 29} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1M", "x"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
	if FormatSize(256<<20) != "256MiB" || FormatSize(1<<30) != "1GiB" {
		t.Error("FormatSize")
	}
}
