package main_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// uploadsOf returns the ids of the incomplete multipart uploads of exactly
// key (MinIO lists the uploads of one key, not of a prefix).
func (s *server) uploadsOf(t *testing.T, key string) []string {
	t.Helper()
	r, err := s.s3.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("list the multipart uploads of %s: %v", key, err)
	}
	var ids []string
	for _, u := range r.Uploads {
		if aws.ToString(u.Key) == key {
			ids = append(ids, aws.ToString(u.UploadId))
		}
	}
	return ids
}

// noUploadsLeft fails the test when any of keys has an incomplete
// multipart upload.
func (s *server) noUploadsLeft(t *testing.T, keys []string) {
	t.Helper()
	for _, k := range keys {
		if ids := s.uploadsOf(t, k); len(ids) > 0 {
			t.Errorf("incomplete multipart uploads left on %s: %v", k, ids)
		}
	}
}

// wideBatch returns rows [first, first+n) of (id int64, blob: width
// pseudo-random hex digits seeded by the id, which compress to half): with
// n*width over 32 MiB, one batch makes several parts in any format.
func wideBatch(schema *arrow.Schema, first, n, width int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	buf := make([]byte, width)
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for j := 0; j < width; j += 16 {
			v := r.Uint64()
			for k := j; k < min(j+16, width); k++ {
				buf[k] = "0123456789abcdef"[v&15]
				v >>= 4
			}
		}
		b.Field(1).(*array.StringBuilder).BinaryBuilder.Append(buf)
	}
	return b.NewRecordBatch()
}

// midUpload leaves key as the plugin does while it uploads batch seq of
// the write staged under staging: the batch's marker, and an incomplete
// multipart upload of key with one part. It returns key.
func (s *server) midUpload(t *testing.T, staging, key string, seq int64) string {
	t.Helper()
	ctx := context.Background()
	s.put(t, fmt.Sprintf("%supload-%020d", staging, seq), nil)
	up, err := s.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader(`{"id": 1}` + "\n")}); err != nil {
		t.Fatal(err)
	}
	if len(s.uploadsOf(t, key)) != 1 {
		t.Fatalf("no upload of %s", key)
	}
	return key
}

func dataKey(prefix, target, writeID string, seq int64, ext string) string {
	return fmt.Sprintf("%s/%s/part-%s-%020d%s", prefix, target, writeID, seq, ext)
}

// TestMultipartBatches writes batches of 20 to 40 MB (several parts each)
// in csv and parquet, sends one batch twice and one again from a fresh
// process (a restarted plugin), and checks that each batch is one valid
// multipart object, durable when WriteBatch returns but named by no
// manifest before the commit, that the dataset holds each row once, and
// that no upload is left.
func TestMultipartBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads about 250 MB")
	}
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "blob", Type: arrow.BinaryTypes.String},
	}, nil)
	const rowsPer, width = 5_000, 8000 // 40 MB per batch, about 20 MB as parquet
	for _, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			cfg := srv.config(t, map[string]any{"path_prefix": "mp", "file_format": format})
			w := configure(t, cfg)
			req := sdk.WriteRequest{WriteID: "w-" + format, Flow: "f-" + format, Target: format, Schema: schema, Mode: sdk.ModeReplace}
			if err := w.BeginWrite(ctx, req); err != nil {
				t.Fatal(err)
			}
			var want rowhash.Sum
			send := func(c interface {
				WriteBatch(context.Context, string, int64, arrow.RecordBatch) error
			}, seq int64) {
				rec := wideBatch(schema, int(seq-1)*rowsPer, rowsPer, width)
				defer rec.Release()
				if err := c.WriteBatch(ctx, req.WriteID, seq, rec); err != nil {
					t.Fatalf("WriteBatch(%d): %v", seq, err)
				}
			}
			for seq := int64(1); seq <= 2; seq++ {
				rec := wideBatch(schema, int(seq-1)*rowsPer, rowsPer, width)
				want.Add(rec)
				rec.Release()
				send(w, seq)
			}
			send(w, 2) // a retry in the same process: same upload, same parts
			// A restarted plugin: BeginWrite again, the unacknowledged
			// batch again, then the next one.
			fresh := configure(t, cfg)
			if err := fresh.BeginWrite(ctx, req); err != nil {
				t.Fatal(err)
			}
			send(fresh, 2)
			rec := wideBatch(schema, 2*rowsPer, rowsPer, width)
			want.Add(rec)
			rec.Release()
			send(fresh, 3)
			keys := []string{}
			for seq := int64(1); seq <= 3; seq++ {
				k := dataKey("mp", format, req.WriteID, seq, "."+format)
				keys = append(keys, k)
				h, err := srv.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(srv.bucket), Key: aws.String(k)})
				if err != nil {
					t.Fatalf("batch %d is not durable after WriteBatch: %v", seq, err)
				}
				if etag := aws.ToString(h.ETag); !strings.Contains(etag, "-") || strings.HasSuffix(strings.Trim(etag, `"`), "-1") {
					t.Errorf("%s has ETag %s: not a multipart object of several parts", k, etag)
				}
			}
			srv.noUploadsLeft(t, keys)
			if files, _ := srv.manifestFiles(ctx, "mp/"+format); len(files) > 0 {
				t.Errorf("a manifest names %v before the commit", files)
			}
			// The first process commits: it wrote batches 1 and 2 (and 2
			// was sent again elsewhere); batch 3 it finds in S3.
			if err := w.CommitWrite(ctx, req.WriteID, nil); err != nil {
				t.Fatal(err)
			}
			if err := fresh.CommitWrite(ctx, req.WriteID, nil); err != nil {
				t.Fatalf("repeated commit: %v", err)
			}
			srv.noUploadsLeft(t, keys)
			files, err := srv.manifestFiles(ctx, "mp/"+format)
			if err != nil || len(files) != 3 {
				t.Fatalf("manifest names %v (%v), want 3 objects", files, err)
			}
			var got rowhash.Sum
			if format == "parquet" {
				if got, err = srv.readParquetDataset(ctx, "mp/parquet"); err != nil {
					t.Fatalf("read the parquet dataset back: %v", err)
				}
			} else {
				for _, f := range files {
					got.Merge(readCSVObject(t, srv, ctx, "mp/csv/"+f, schema))
				}
			}
			if got != want {
				t.Fatalf("the dataset holds %v, want %v", got, want)
			}
			for _, k := range srv.keys(t, "mp/.sqlflow-staging/") {
				if !strings.HasSuffix(k, "/write.json") {
					t.Errorf("staging object left after the commit: %s", k)
				}
			}
		})
	}
}

// readCSVObject sums the rows of a csv object of (id, blob).
func readCSVObject(t *testing.T, srv *server, ctx context.Context, key string, schema *arrow.Schema) rowhash.Sum {
	t.Helper()
	data, err := srv.get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	if _, err := r.Read(); err != nil { // header
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		var id int64
		fmt.Sscan(rec[0], &id)
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(rec[1])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var s rowhash.Sum
	s.Add(rec)
	return s
}

// TestLeftoverUploads: a write that a killed host left (the objects of its
// batches, and the multipart upload of the batch under way) is cleaned by
// the next BeginWrite of the same flow; an aborted write leaves nothing,
// not even the upload of a batch under way.
func TestLeftoverUploads(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	cfg := srv.config(t, map[string]any{"path_prefix": "lo", "file_format": "jsonl"})
	dead := configure(t, cfg)
	req := sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "t", Schema: schema, Mode: sdk.ModeReplace}
	if err := dead.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 3; seq++ {
		rec := batch(schema, int(seq)*10, 10)
		if err := dead.WriteBatch(ctx, "w1", seq, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	// Batch 4 was being uploaded when the host was killed.
	k4 := srv.midUpload(t, "lo/.sqlflow-staging/f/w1/", dataKey("lo", "t", "w1", 4, ".jsonl"), 4)
	// The next run of the flow, in a new process.
	next := configure(t, cfg)
	req.WriteID = "w2"
	if err := next.BeginWrite(ctx, req); err != nil {
		t.Fatal(err)
	}
	srv.noUploadsLeft(t, []string{k4})
	for _, k := range srv.keys(t, "lo/") {
		if strings.Contains(k, "w1") {
			t.Errorf("left by the dead write w1 after the next BeginWrite: %s", k)
		}
	}
	// w2 writes two batches and is aborted: nothing of it is left.
	for seq := int64(1); seq <= 2; seq++ {
		rec := batch(schema, int(seq)*10, 10)
		if err := next.WriteBatch(ctx, "w2", seq, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	k3 := srv.midUpload(t, "lo/.sqlflow-staging/f/w2/", dataKey("lo", "t", "w2", 3, ".jsonl"), 3)
	if err := next.AbortWrite(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	srv.noUploadsLeft(t, []string{k3})
	if left := srv.keys(t, "lo/"); len(left) > 0 {
		t.Errorf("after the abort: %v", left)
	}
}
