package parquetconn_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

var seqSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// seqBatch is batch seq of a write: rows ids (seq-1)*n .. seq*n-1, every
// seventh label null.
func seqBatch(seq int64, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, seqSchema)
	defer b.Release()
	for i := range int64(n) {
		id := (seq-1)*int64(n) + i
		b.Field(0).(*array.Int64Builder).Append(id)
		if id%7 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d", id))
		}
	}
	return b.NewRecordBatch()
}

func writeSeq(t *testing.T, c connector, writeID string, seq int64, n int) {
	t.Helper()
	rec := seqBatch(seq, n)
	defer rec.Release()
	if err := c.WriteBatch(context.Background(), writeID, seq, rec); err != nil {
		t.Fatalf("WriteBatch(%s, seq %d): %v", writeID, seq, err)
	}
}

// rowGroups returns the row counts of the row groups of the Parquet file
// at path.
func rowGroups(t *testing.T, path string) []int64 {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer r.Close()
	var out []int64
	for i := range r.NumRowGroups() {
		out = append(out, r.MetaData().RowGroup(i).NumRows())
	}
	return out
}

// checkIDs reads path back and checks that it holds ids 0..n-1 exactly
// once, in order, with the labels and nulls seqBatch made.
func checkIDs(t *testing.T, path string, n int64) {
	t.Helper()
	pages := readAll(t, pq(t, map[string]any{"path": path}), sdk.ReadRequest{MaxRows: 1000})
	next := int64(0)
	for _, p := range pages {
		ids := p.rec.Column(0).(*array.Int64)
		labels := p.rec.Column(1).(*array.String)
		for i := range ids.Len() {
			if ids.IsNull(i) || ids.Value(i) != next {
				t.Fatalf("row %d of %s has id %v; want %d (rows lost, repeated or out of order)", next, path, ids.ValueStr(i), next)
			}
			if wantNull := next%7 == 0; labels.IsNull(i) != wantNull || !wantNull && labels.Value(i) != fmt.Sprintf("row %d", next) {
				t.Fatalf("row %d of %s has label %q (null %v)", next, path, labels.ValueStr(i), labels.IsNull(i))
			}
			next++
		}
	}
	if next != n {
		t.Fatalf("%s holds %d rows; want %d", path, next, n)
	}
}

// rowsFiles lists the unfinished Parquet files in the staging under dir.
func rowsFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, filestage.StagingPrefix+"*", "rows-*.parquet"))
	return m
}

// stagedFiles lists the files in the write's staging directories under dir.
func stagedFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, filestage.StagingPrefix+"*", "*"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// Batches written over many WriteBatch calls become row groups of
// row_group_size rows (the last one shorter), whatever the batch size, and
// the rows keep their seq order. The row groups are encoded as the batches
// arrive: before the commit the staging directory holds the unfinished
// Parquet file, already larger than the first row groups' data.
func TestRowGroupsAcrossBatches(t *testing.T) {
	tests := []struct {
		name                     string
		batches, rows, rowGroups int
		want                     []int64
	}{
		{"groups span batches", 10, 300, 1000, []int64{1000, 1000, 1000}},
		{"batches split across groups", 4, 250, 100, []int64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}},
		{"one group", 3, 5, 1000, []int64{15}},
		{"uneven", 7, 333, 500, []int64{500, 500, 500, 500, 331}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			c := pq(t, map[string]any{"path": dir, "row_group_size": tt.rowGroups})
			wr := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: seqSchema, Mode: sdk.ModeReplace}
			if err := c.BeginWrite(ctx, wr); err != nil {
				t.Fatal(err)
			}
			for seq := int64(1); seq <= int64(tt.batches); seq++ {
				writeSeq(t, c, "w", seq, tt.rows)
				if seq == 2 {
					// BeginWrite repeated mid-write (a retried call) changes nothing.
					if err := c.BeginWrite(ctx, wr); err != nil {
						t.Fatal(err)
					}
				}
			}
			staged, _ := filepath.Glob(filepath.Join(dir, filestage.StagingPrefix+"*", "rows-*.parquet"))
			if len(staged) != 1 {
				t.Fatalf("staging holds %v; want one rows-*.parquet file being written", stagedFiles(t, dir))
			}
			if err := c.CommitWrite(ctx, "w", nil); err != nil {
				t.Fatal(err)
			}
			if rep := c.(sdk.CommitReporter).CommitReport("w"); rep[sdk.ReportRows] != fmt.Sprint(tt.batches*tt.rows) {
				t.Fatalf("CommitReport = %v; want %d rows", rep, tt.batches*tt.rows)
			}
			path := filepath.Join(dir, "t.parquet")
			if got := rowGroups(t, path); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("row groups %v; want %v", got, tt.want)
			}
			checkIDs(t, path, int64(tt.batches*tt.rows))
			if left := stagedFiles(t, dir); fmt.Sprint(left) != "[manifest.json]" {
				t.Fatalf("after the commit the staging holds %v; want only the manifest", left)
			}
		})
	}
}

// A plugin that stops after some acknowledged batches (its successor is a
// new Connector that never saw them) continues the write: BeginWrite again
// with the same write id, the host replays the batch it was sending (and
// maybe earlier ones), sends the rest and commits. Every row is in the
// file once, in order. The successor may also commit at once, with no
// batch of its own.
func TestRestartAfterAcknowledgedBatches(t *testing.T) {
	tests := []struct {
		name   string
		replay []int64 // seqs the new process is sent again
		more   int64   // seqs after the first process's 5
	}{
		{"replay the last batch and continue", []int64{5}, 3},
		{"replay every batch and continue", []int64{1, 2, 3, 4, 5}, 2},
		{"commit at once", nil, 0},
		{"continue without replay", nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := map[string]any{"path": dir, "row_group_size": 250}
			wr := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: seqSchema, Mode: sdk.ModeReplace}
			first := pq(t, cfg)
			if err := first.BeginWrite(ctx, wr); err != nil {
				t.Fatal(err)
			}
			for seq := int64(1); seq <= 5; seq++ {
				writeSeq(t, first, "w", seq, 100)
			}
			firstRows := rowsFiles(t, dir)
			if len(firstRows) != 1 {
				t.Fatalf("the first process's staging holds Parquet files %v; want one", firstRows)
			}
			// first is gone (it is never called again); a new process:
			second := pq(t, cfg)
			if err := second.BeginWrite(ctx, wr); err != nil {
				t.Fatal(err)
			}
			for _, seq := range tt.replay {
				writeSeq(t, second, "w", seq, 100)
			}
			for seq := int64(6); seq < 6+tt.more; seq++ {
				writeSeq(t, second, "w", seq, 100)
			}
			if got := visible(t, dir); len(got) != 0 {
				t.Fatalf("visible before the commit: %v", got)
			}
			// The new process only staged: its WriteBatch calls did not
			// rebuild the Parquet file (that is the commit's work), so the
			// first process's unfinished file is the only one.
			if got := rowsFiles(t, dir); fmt.Sprint(got) != fmt.Sprint(firstRows) {
				t.Fatalf("after the new process's batches the staging holds Parquet files %v; want only the first process's %v", got, firstRows)
			}
			if err := second.CommitWrite(ctx, "w", nil); err != nil {
				t.Fatal(err)
			}
			n := (5 + tt.more) * 100
			if rep := second.(sdk.CommitReporter).CommitReport("w"); rep[sdk.ReportRows] != fmt.Sprint(n) {
				t.Fatalf("CommitReport = %v; want %d rows", rep, n)
			}
			path := filepath.Join(dir, "t.parquet")
			checkIDs(t, path, n)
			if left := rowsFiles(t, dir); len(left) != 0 {
				t.Fatalf("after the commit the staging holds %v", left)
			}
			var want []int64
			for left := n; left > 0; left -= 250 {
				want = append(want, min(left, 250))
			}
			if got := rowGroups(t, path); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("row groups %v; want %v", got, want)
			}
			// A third process repeating the commit changes nothing.
			if err := pq(t, cfg).CommitWrite(ctx, "w", nil); err != nil {
				t.Fatalf("commit repeated in a new process: %v", err)
			}
			checkIDs(t, path, n)
		})
	}
}

// Batches must come in seq order from 1: a gap or a seq below 1 is a
// PERMANENT error naming the batch expected, and stores nothing; the
// write then goes on from the expected seq.
func TestSeqGapsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := pq(t, map[string]any{"path": dir})
	wr := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: seqSchema, Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, wr); err != nil {
		t.Fatal(err)
	}
	writeSeq(t, c, "w", 1, 10)
	tests := []struct {
		seq  int64
		want string
	}{
		{3, `write "w": batch 3 arrived, but batch 2 is the next one`},
		{0, `write "w": invalid batch seq 0 (seqs start at 1)`},
		{-4, `write "w": invalid batch seq -4 (seqs start at 1)`},
	}
	for _, tt := range tests {
		rec := seqBatch(tt.seq, 10)
		err := c.WriteBatch(ctx, "w", tt.seq, rec)
		rec.Release()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errclass.Is(err, errclass.Permanent) {
			t.Fatalf("WriteBatch(seq %d) = %v; want a PERMANENT error containing %q", tt.seq, err, tt.want)
		}
	}
	if got := stagedFiles(t, dir); len(got) != 3 { // manifest, part 1, the rows file
		t.Fatalf("the refused batches changed the staging: %v", got)
	}
	writeSeq(t, c, "w", 2, 10)
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, filepath.Join(dir, "t.parquet"), 20)
}

// AbortWrite, in the process that wrote the batches or in a new one,
// removes the staging directory with the unfinished Parquet file and
// leaves the target as it was.
func TestAbortLeavesNothing(t *testing.T) {
	for _, newProcess := range []bool{false, true} {
		t.Run(fmt.Sprintf("new process %v", newProcess), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := map[string]any{"path": dir, "row_group_size": 50}
			before := []byte("not touched")
			if err := os.WriteFile(filepath.Join(dir, "t.parquet"), before, 0o644); err != nil {
				t.Fatal(err)
			}
			c := pq(t, cfg)
			wr := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: seqSchema, Mode: sdk.ModeReplace}
			if err := c.BeginWrite(ctx, wr); err != nil {
				t.Fatal(err)
			}
			for seq := int64(1); seq <= 4; seq++ {
				writeSeq(t, c, "w", seq, 80)
			}
			if newProcess {
				c = pq(t, cfg)
			}
			if err := c.AbortWrite(ctx, "w"); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != "t.parquet" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("after AbortWrite the directory holds %v; want only t.parquet", names)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "t.parquet")); string(after) != string(before) {
				t.Fatal("AbortWrite changed the target")
			}
			rec := seqBatch(5, 1)
			defer rec.Release()
			if err := c.WriteBatch(ctx, "w", 5, rec); err == nil || !strings.Contains(err.Error(), "unknown write") {
				t.Fatalf("WriteBatch after AbortWrite = %v; want an unknown-write error", err)
			}
		})
	}
}

// A batch after the commit is refused, and does not reopen the write.
func TestBatchAfterCommitRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := pq(t, map[string]any{"path": dir})
	wr := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: seqSchema, Mode: sdk.ModeReplace}
	if err := c.BeginWrite(ctx, wr); err != nil {
		t.Fatal(err)
	}
	writeSeq(t, c, "w", 1, 10)
	if err := c.CommitWrite(ctx, "w", nil); err != nil {
		t.Fatal(err)
	}
	rec := seqBatch(2, 10)
	defer rec.Release()
	err := c.WriteBatch(ctx, "w", 2, rec)
	if err == nil || !strings.Contains(err.Error(), `write "w" is committed; it takes no more batches (seq 2)`) {
		t.Fatalf("WriteBatch after the commit = %v", err)
	}
	checkIDs(t, filepath.Join(dir, "t.parquet"), 10)
}
