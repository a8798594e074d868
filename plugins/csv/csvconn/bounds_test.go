package csvconn_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// writeLongLine writes a csv file whose line 3 is one record of n bytes
// ("2," and n-2 x's), between two short rows, and returns its path. With
// quoted, the long field is quoted and broken into lines of 100 bytes, so
// the record spans many lines (and still starts on line 3).
func writeLongLine(t *testing.T, dir, name string, n int, quoted bool) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("id,name\n1,a\n2,")
	if quoted {
		w.WriteByte('"')
		n -= 2
	}
	chunk := strings.Repeat(strings.Repeat("x", 99)+"\n", 1<<10)
	if !quoted {
		chunk = strings.Repeat("x", len(chunk))
	}
	for left := n - 2; left > 0; left -= len(chunk) {
		w.WriteString(chunk[:min(left, len(chunk))])
	}
	if quoted {
		w.WriteByte('"')
	}
	w.WriteString("\n3,c\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRecordOverCapFailsNamingFileAndLine reads a file whose line 3 is an
// 8 MiB record under a 1 MiB cap, as one line and as a quoted field of
// many lines: type inference (which samples the record) and a read past
// the sample (sample_rows: 1) both fail PERMANENT naming the file, the
// record's first line, the cap and the key to raise. Under the default
// cap (64 MiB) the same file is read whole.
func TestRecordOverCapFailsNamingFileAndLine(t *testing.T) {
	dir := t.TempDir()
	for _, quoted := range []bool{false, true} {
		path := writeLongLine(t, dir, "big.csv", 8<<20, quoted)
		check := func(what string, err error) {
			t.Helper()
			want := `file "` + path + `", line 3: the record is larger than max_record_bytes (1 MiB); raise max_record_bytes (at most 1073741824, 1 GiB)`
			if errclass.Of(err) != errclass.Permanent || err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("quoted %v, %s: %v (%v)\nwant %s", quoted, what, err, errclass.Of(err), want)
			}
		}
		c := configured(t, map[string]any{"path": path, "max_record_bytes": 1 << 20})
		_, err := c.Discover(context.Background())
		check("discover", err)

		c = configured(t, map[string]any{"path": path, "max_record_bytes": 1 << 20, "sample_rows": 1})
		p, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "big"})
		if p.Records != nil {
			p.Records.Release()
		}
		check("read", err)

		c = configured(t, map[string]any{"path": path})
		pages := readAll(t, c, sdk.ReadRequest{Stream: "big"})
		var rows int64
		for _, p := range pages {
			if p.rec != nil {
				rows += p.rec.NumRows()
				p.rec.Release()
			}
		}
		if rows != 3 {
			t.Fatalf("quoted %v, default cap: %d rows, want 3", quoted, rows)
		}
	}
}

// TestRecordCapCountsFromCheckpoint: a read resumed at a checkpoint (a
// new connector, as after a plugin restart) reports the long record's own
// line, and a record exactly at the cap is read (pages of one row, so
// that it is in a page of its own).
func TestRecordCapCountsFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	const max = 1 << 10
	var b strings.Builder
	b.WriteString("id,name\n")
	for range 20 {
		b.WriteString("1,a\n")
	}
	b.WriteString("2," + strings.Repeat("y", max-2) + "\n") // line 22: exactly the cap
	b.WriteString("3," + strings.Repeat("z", max-1) + "\n") // line 23: one byte over
	path := writeFile(t, dir, "edge.csv", b.String())
	cfg := map[string]any{"path": path, "max_record_bytes": max, "sample_rows": 1}
	first, err := configured(t, cfg).ReadPage(context.Background(), sdk.ReadRequest{Stream: "edge", MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	first.Records.Release()
	c := configured(t, cfg)
	req := sdk.ReadRequest{Stream: "edge", MaxRows: 1, Checkpoint: first.Checkpoint}
	var rows int64
	for {
		p, err := c.ReadPage(context.Background(), req)
		if err != nil {
			if !strings.Contains(err.Error(), `line 23: the record is larger than max_record_bytes (1 KiB)`) || errclass.Of(err) != errclass.Permanent {
				t.Fatalf("%v", err)
			}
			break
		}
		rows += p.Records.NumRows()
		p.Records.Release()
		if p.Done {
			t.Fatal("the read ended without the error")
		}
		req.Checkpoint = p.Checkpoint
	}
	if rows != 11 { // rows 11 to 20, and the record at the cap
		t.Fatalf("%d rows before the error, want 11", rows)
	}
}
