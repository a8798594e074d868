package main_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// longRecord returns a csv object whose line 3 is one record of n bytes:
// with quoted, a quoted field broken into lines of 100 bytes (a record of
// many lines starting on line 3); jsonl: a JSON line with one n-byte
// string.
func longRecord(kind string, n int) []byte {
	var b bytes.Buffer
	switch kind {
	case "jsonl":
		b.WriteString(`{"id": 1, "name": "a"}` + "\n" + `{"id": 2, "name": "b"}` + "\n" + `{"id": 3, "name": "`)
		b.Write(bytes.Repeat([]byte("x"), n))
		b.WriteString(`"}` + "\n" + `{"id": 4, "name": "d"}` + "\n")
	case "quoted":
		b.WriteString("id,name\n1,a\n2,\"")
		b.Write(bytes.Repeat([]byte(strings.Repeat("x", 99)+"\n"), n/100))
		b.WriteString("\"\n3,c\n")
	default:
		b.WriteString("id,name\n1,a\n2,")
		b.Write(bytes.Repeat([]byte("x"), n))
		b.WriteString("\n3,c\n")
	}
	return b.Bytes()
}

// TestRecordOverCap reads objects whose line 3 is an 8 MiB record under
// max_record_bytes: 1 MiB, as csv (one line, and a quoted field of many
// lines), as gzip'd csv (the cap counts uncompressed bytes) and as jsonl:
// each read fails PERMANENT naming the object, line 3, the cap and the key
// to raise, both while the csv schema is sampled and, past the sample,
// while rows are read (from a fresh connector at the previous page's
// checkpoint). Under the default cap (64 MiB) the same objects are read
// whole.
func TestRecordOverCap(t *testing.T) {
	srv := newServer(t)
	objects := map[string][]byte{
		"plain/a.csv":   longRecord("plain", 8<<20),
		"quoted/a.csv":  longRecord("quoted", 8<<20),
		"gz/a.csv.gz":   gzipped(t, string(longRecord("plain", 8<<20))),
		"jsonl/a.jsonl": longRecord("jsonl", 8<<20),
	}
	for key, data := range objects {
		srv.put(t, key, data)
	}
	for key, rows := range map[string]int{"plain/a.csv": 3, "quoted/a.csv": 3, "gz/a.csv.gz": 3, "jsonl/a.jsonl": 4} {
		t.Run(key, func(t *testing.T) {
			stream := strings.Split(key, "/")[0]
			want := fmt.Sprintf("s3://%s/%s, line 3: the record is larger than max_record_bytes (1 MiB); raise max_record_bytes (at most 1073741824, 1 GiB)", srv.bucket, key)
			check := func(what string, err error) {
				t.Helper()
				if errclass.Of(err) != errclass.Permanent || err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("%s: %v (%v)\nwant %s", what, err, errclass.Of(err), want)
				}
			}
			small := map[string]any{"path_prefix": stream + "/", "max_record_bytes": 1 << 20}
			_, err := configure(t, srv.config(t, small)).ReadPage(context.Background(), sdk.ReadRequest{Stream: stream})
			check("first page", err)

			// Past the schema's sample: the first page of one row, then
			// a fresh connector at its checkpoint.
			small["csv_sample_rows"] = 1
			cfg := srv.config(t, small)
			req := sdk.ReadRequest{Stream: stream, MaxRows: 1}
			for range rows {
				p, err := configure(t, cfg).ReadPage(context.Background(), req)
				if err != nil {
					check("later page", err)
					break
				}
				if p.Records != nil {
					p.Records.Release()
				}
				if p.Done {
					t.Fatal("the read ended without the error")
				}
				req.Checkpoint = p.Checkpoint
			}

			full := srv.config(t, map[string]any{"path_prefix": stream + "/"})
			r := readFrom(t, configure(t, full), full, sdk.ReadRequest{Stream: stream}, 0)
			if len(r.rows) != rows {
				t.Fatalf("default cap: %d rows, want %d", len(r.rows), rows)
			}
		})
	}
}
