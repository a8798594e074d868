package parquetconn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/plugins/parquet/parquetconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

type connector interface {
	sdk.Source
	sdk.Destination
}

func configure(t *testing.T, c connector, cfg map[string]any) connector {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	ferrs, err := c.Configure(context.Background(), raw)
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("Configure(%s) = %v, %v", raw, ferrs, err)
	}
	return c
}

func pq(t *testing.T, cfg map[string]any) connector {
	return configure(t, parquetconn.New(hclog.NewNullLogger()), cfg)
}

func csvc(t *testing.T, cfg map[string]any) connector {
	return configure(t, csvconn.New(hclog.NewNullLogger()), cfg)
}

type page struct {
	at  []byte
	sum rowhash.Sum
	rec arrow.RecordBatch
}

func readAll(t *testing.T, src sdk.Source, req sdk.ReadRequest) []page {
	t.Helper()
	var pages []page
	for i := 0; i < 100000; i++ {
		p, err := src.ReadPage(context.Background(), req)
		if err != nil {
			t.Fatalf("ReadPage(%s): %v", req.Checkpoint, err)
		}
		var s rowhash.Sum
		s.Add(p.Records)
		if req.MaxRows > 0 && p.Records.NumRows() > req.MaxRows {
			t.Fatalf("page of %d rows over the cap %d", p.Records.NumRows(), req.MaxRows)
		}
		pages = append(pages, page{at: req.Checkpoint, sum: s, rec: p.Records})
		if p.Done {
			return pages
		}
		req.Checkpoint = p.Checkpoint
	}
	t.Fatal("read does not end")
	return nil
}

func total(pages []page) rowhash.Sum {
	var s rowhash.Sum
	for _, p := range pages {
		s.Merge(p.sum)
	}
	return s
}

// copyStream reads all of src's stream and writes it to dst in one write.
func copyStream(t *testing.T, src sdk.Source, dst sdk.Destination, wr sdk.WriteRequest) rowhash.Sum {
	t.Helper()
	ctx := context.Background()
	streams, err := src.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wr.Schema = streams[0].Schema
	pages := readAll(t, src, sdk.ReadRequest{Stream: streams[0].Name, MaxRows: 4})
	if err := dst.BeginWrite(ctx, wr); err != nil {
		t.Fatalf("BeginWrite: %v", err)
	}
	for i, p := range pages {
		if err := dst.WriteBatch(ctx, wr.WriteID, int64(i+1), p.rec); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
	}
	if err := dst.CommitWrite(ctx, wr.WriteID, nil); err != nil {
		t.Fatalf("CommitWrite: %v", err)
	}
	return total(pages)
}

const ordersCSV = "id,amount,paid,day,at,note\n" +
	"1,9.5,true,2024-01-02,2024-01-02T10:00:00Z,hello\n" +
	"2,,false,2024-01-03,2024-01-03 11:30:00,\"with, comma\"\n" +
	"3,10,,,2024-01-04T12:00:00.123456+02:00,\n" +
	"4,11.25,true,2024-01-05,,\"multi\nline\"\n" +
	"5,-3e2,false,2024-01-06,2024-01-06T00:00:00Z,\"\"\n"

func TestRoundTripCSVToParquetToCSV(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	csvPath := filepath.Join(dir, "orders.csv")
	if err := os.WriteFile(csvPath, []byte(ordersCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	lake := filepath.Join(dir, "lake")
	want := copyStream(t, csvc(t, map[string]any{"path": csvPath}), pq(t, map[string]any{"path": lake}),
		sdk.WriteRequest{WriteID: "w1", Flow: "to_lake", Target: "orders.parquet", Mode: sdk.ModeReplace})

	src := pq(t, map[string]any{"path": filepath.Join(lake, "orders.parquet")})
	streams, err := src.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := csvc(t, map[string]any{"path": csvPath}).Discover(ctx)
	if streams[0].Name != "orders" || !streams[0].Schema.Equal(orig[0].Schema) {
		t.Fatalf("parquet stream %s %s, want orders %s", streams[0].Name, streams[0].Schema, orig[0].Schema)
	}
	if got := total(readAll(t, src, sdk.ReadRequest{Stream: "orders"})); got != want {
		t.Fatalf("parquet holds %s, want %s", got, want)
	}

	out := filepath.Join(dir, "back")
	copyStream(t, src, csvc(t, map[string]any{"path": out}), sdk.WriteRequest{WriteID: "w2", Flow: "back", Target: "orders", Mode: sdk.ModeReplace})
	back := csvc(t, map[string]any{"path": filepath.Join(out, "orders.csv")})
	if got := total(readAll(t, back, sdk.ReadRequest{})); got != want || got.Rows != 5 {
		t.Fatalf("csv after the round trip holds %s, want %s", got, want)
	}
}

// writeNumbers writes a Parquet file of n rows (id, label with nulls)
// with row groups of rowGroup rows through the destination.
func writeNumbers(t *testing.T, dir, target string, from, n, rowGroup int, mode sdk.WriteMode, writeID string) {
	t.Helper()
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	dst := pq(t, map[string]any{"path": dir, "row_group_size": rowGroup, "compression": "snappy"})
	if err := dst.BeginWrite(ctx, sdk.WriteRequest{WriteID: writeID, Flow: "f-" + target, Target: target, Schema: schema, Mode: mode}); err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	seq := int64(0)
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%3 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("label %d", i))
		}
		b.Field(2).(*array.Float64Builder).Append(float64(i) / 2)
		if (i-from)%5 == 4 || i == from+n-1 {
			rec := b.NewRecordBatch()
			seq++
			if err := dst.WriteBatch(ctx, writeID, seq, rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
	}
	if err := dst.CommitWrite(ctx, writeID, nil); err != nil {
		t.Fatal(err)
	}
}

func TestResumeFromEveryCheckpoint(t *testing.T) {
	dir := t.TempDir()
	writeNumbers(t, dir, "nums-a", 0, 57, 10, sdk.ModeReplace, "a")
	writeNumbers(t, dir, "nums-b", 100, 23, 7, sdk.ModeReplace, "b")
	glob := filepath.Join(dir, "nums-*.parquet")
	tests := []struct {
		name string
		req  sdk.ReadRequest
	}{
		{"max rows 7", sdk.ReadRequest{Stream: "nums", MaxRows: 7}},
		{"max rows 1", sdk.ReadRequest{Stream: "nums", MaxRows: 1}},
		{"max rows 10 (row group size)", sdk.ReadRequest{Stream: "nums", MaxRows: 10}},
		{"max bytes 200", sdk.ReadRequest{Stream: "nums", MaxBytes: 200}},
		{"defaults", sdk.ReadRequest{Stream: "nums"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := readAll(t, pq(t, map[string]any{"path": glob}), tt.req)
			full := total(pages)
			if full.Rows != 80 {
				t.Fatalf("read %d rows, want 80", full.Rows)
			}
			var before rowhash.Sum
			for _, p := range pages {
				req := tt.req
				req.Checkpoint = p.at
				got := before
				got.Merge(total(readAll(t, pq(t, map[string]any{"path": glob}), req)))
				if got != full {
					t.Fatalf("from checkpoint %s: %s, want %s", p.at, got, full)
				}
				before.Merge(p.sum)
			}
		})
	}
}

func TestProjection(t *testing.T) {
	dir := t.TempDir()
	writeNumbers(t, dir, "nums", 0, 12, 5, sdk.ModeReplace, "a")
	src := pq(t, map[string]any{"path": filepath.Join(dir, "nums.parquet"), "columns": []string{"score", "id"}})
	streams, err := src.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s %s %d", streams[0].Schema.Field(0).Name, streams[0].Schema.Field(1).Name, streams[0].Schema.NumFields()); got != "id score 2" {
		t.Fatalf("projected schema %s", streams[0].Schema)
	}
	pages := readAll(t, src, sdk.ReadRequest{Stream: "nums", MaxRows: 5})
	if n := total(pages).Rows; n != 12 || pages[0].rec.NumCols() != 2 {
		t.Fatalf("read %d rows of %d columns", n, pages[0].rec.NumCols())
	}

	bad := pq(t, map[string]any{"path": filepath.Join(dir, "nums.parquet"), "columns": []string{"nope"}})
	_, err = bad.Discover(context.Background())
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown column: %v", err)
	}
}

func TestNotParquetAndMissing(t *testing.T) {
	dir := t.TempDir()
	notPq := filepath.Join(dir, "fake.parquet")
	os.WriteFile(notPq, []byte("id,name\n1,x\n"), 0o644)
	tests := []struct {
		name string
		path string
		want string
	}{
		{"not parquet", notPq, "is not a Parquet file"},
		{"missing", filepath.Join(dir, "missing.parquet"), "does not exist"},
		{"glob matching nothing", filepath.Join(dir, "zz*.parquet"), "matches no file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pq(t, map[string]any{"path": tt.path})
			_, err := c.ReadPage(context.Background(), sdk.ReadRequest{})
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("ReadPage: %v, want PERMANENT naming %s: ...%s...", err, tt.path, tt.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
	if err := pq(t, map[string]any{"path": notPq}).Check(context.Background()); errclass.Of(err) != errclass.Permanent {
		t.Fatalf("Check of a non-Parquet file: %v", err)
	}
}

func visible(t *testing.T, dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func TestWriteIdempotenceAbortAndVisibility(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeNumbers(t, dir, "t", 0, 3, 100, sdk.ModeReplace, "w0")
	before, _ := os.ReadFile(filepath.Join(dir, "t.parquet"))
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	mk := func(v int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).Append(v)
		b.Field(0).AppendNull()
		return b.NewRecordBatch()
	}
	cfg := map[string]any{"path": dir}
	wr := sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "t", Schema: schema, Mode: sdk.ModeReplace}

	// Abort leaves the target as it was.
	c := pq(t, cfg)
	if err := c.BeginWrite(ctx, wr); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteBatch(ctx, "w1", 1, mk(1)); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, dir); fmt.Sprint(got) != "[t.parquet]" {
		t.Fatalf("visible before commit: %v", got)
	}
	if err := c.AbortWrite(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "t.parquet")); string(after) != string(before) {
		t.Fatal("abort changed the target")
	}

	// Replayed seqs, across a restart, are stored once.
	wr.WriteID = "w2"
	if err := c.BeginWrite(ctx, wr); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int64{1, 2, 2} {
		if err := c.WriteBatch(ctx, "w2", seq, mk(seq)); err != nil {
			t.Fatal(err)
		}
	}
	c2 := pq(t, cfg)
	if err := c2.BeginWrite(ctx, wr); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int64{1, 3} {
		if err := c2.WriteBatch(ctx, "w2", seq, mk(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "t.parquet")); string(after) != string(before) {
		t.Fatal("target changed before commit")
	}
	if err := c2.CommitWrite(ctx, "w2", nil); err != nil {
		t.Fatal(err)
	}
	if err := pq(t, cfg).CommitWrite(ctx, "w2", nil); err != nil {
		t.Fatalf("repeated commit in a new process: %v", err)
	}
	pages := readAll(t, pq(t, map[string]any{"path": filepath.Join(dir, "t.parquet")}), sdk.ReadRequest{})
	if n := total(pages).Rows; n != 6 {
		t.Fatalf("target holds %d rows, want 6 (3 batches of 2)", n)
	}
	if !pages[0].rec.Column(0).IsNull(1) {
		t.Fatal("null lost")
	}
}

func TestAppendAndReplace(t *testing.T) {
	dir := t.TempDir()
	writeNumbers(t, dir, "t", 0, 4, 100, sdk.ModeAppend, "w1")
	writeNumbers(t, dir, "t", 10, 3, 100, sdk.ModeAppend, "w2")
	writeNumbers(t, dir, "t", 20, 2, 100, sdk.ModeAppend, "w3")
	files := visible(t, dir)
	if len(files) != 3 || files[2] != "t.parquet" || !strings.HasPrefix(files[0], "t.append-") {
		t.Fatalf("files after appends: %v", files)
	}
	glob := pq(t, map[string]any{"path": filepath.Join(dir, "t*.parquet")})
	if n := total(readAll(t, glob, sdk.ReadRequest{Stream: "t"})).Rows; n != 9 {
		t.Fatalf("appended data set holds %d rows, want 9", n)
	}
	writeNumbers(t, dir, "t", 50, 5, 100, sdk.ModeReplace, "w4")
	if files := visible(t, dir); fmt.Sprint(files) != "[t.parquet]" {
		t.Fatalf("files after replace: %v", files)
	}
	if n := total(readAll(t, glob, sdk.ReadRequest{Stream: "t"})).Rows; n != 5 {
		t.Fatalf("replaced data set holds %d rows, want 5", n)
	}
}

func TestConfigureFieldErrors(t *testing.T) {
	tests := []struct {
		name, cfg, field, want string
	}{
		{"unknown key", `{"path":"x","colour":"red"}`, "colour", `unknown key "colour"; allowed keys: path, columns, compression, row_group_size, partition_cols`},
		{"misspelt key", `{"path":"x","compresion":"zstd"}`, "compresion",
			`unknown key "compresion" (did you mean compression?); allowed keys: path, columns, compression, row_group_size, partition_cols`},
		{"misspelt key, other case", `{"path":"x","Row_Group_Sise":5}`, "Row_Group_Sise", "(did you mean row_group_size?)"},
		{"bad compression", `{"path":"x","compression":"lzo"}`, "compression", "unsupported compression"},
		{"bad row group size", `{"path":"x","row_group_size":"big"}`, "row_group_size", "positive integer"},
		{"partition cols", `{"path":"x","partition_cols":["day"]}`, "partition_cols", "not supported"},
		{"columns wrong type", `{"path":"x","columns":"id"}`, "columns", "list of column names"},
		{"missing path", `{}`, "path", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ferrs, err := parquetconn.New(nil).Configure(context.Background(), json.RawMessage(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			for _, fe := range ferrs {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.want) {
					return
				}
			}
			t.Fatalf("field errors %v lack %s: ...%s...", ferrs, tt.field, tt.want)
		})
	}
}

func TestUpsertRefusedAndSpec(t *testing.T) {
	c := pq(t, map[string]any{"path": t.TempDir()})
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	err := c.BeginWrite(context.Background(), sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: schema, Mode: sdk.ModeUpsert})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "upsert") {
		t.Fatalf("upsert: %v", err)
	}
	s := c.Spec()
	if s.Name != "parquet" || s.Version != "0.1.0" || s.ResilienceClass != sdk.ResilienceFile || !s.Discover {
		t.Fatalf("spec %+v", s)
	}
}

// TestDiscoverEstimatedRows: the estimate is exact, the sum of the matched
// files' footer row counts.
func TestDiscoverEstimatedRows(t *testing.T) {
	dir := t.TempDir()
	writeNumbers(t, dir, "a", 0, 12, 5, sdk.ModeReplace, "a")
	writeNumbers(t, dir, "b", 100, 7, 3, sdk.ModeReplace, "b")
	for path, want := range map[string]int64{
		filepath.Join(dir, "a.parquet"): 12,
		filepath.Join(dir, "*.parquet"): 19,
	} {
		streams, err := pq(t, map[string]any{"path": path}).Discover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := streams[0].EstimatedRows; got != want {
			t.Errorf("Discover(%s).EstimatedRows = %d, want %d", path, got, want)
		}
	}
}
