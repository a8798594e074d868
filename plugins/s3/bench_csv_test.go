//go:build unix

package main_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/bench"
	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// BenchmarkCSVSourceInProcess reads one csv object of bench/'s generated
// data (13 columns of every inferred type; SQLFLOW_BENCH_S3_CSV_MIB MiB,
// default 64) from S3 (MinIO on loopback) through the s3 source in
// process, page by page to the end: the csv path's parsing and typing with
// the object's bytes on loopback. It reports MB/s of csv and the CPU time
// of the process per read (cpu-ns/op), the steadier figure on a shared
// machine. Run it with
//
//	eval "$(.ci/minio.sh)"
//	go test -run '^$' -bench CSVSourceInProcess -benchtime 3x ./plugins/s3/
func BenchmarkCSVSourceInProcess(b *testing.B) {
	srv := newServer(b)
	mib := int64(64)
	if v := os.Getenv("SQLFLOW_BENCH_S3_CSV_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			b.Fatalf("SQLFLOW_BENCH_S3_CSV_MIB=%q: want a whole number of MiB", v)
		}
		mib = n
	}
	var data bytes.Buffer
	if _, _, err := bench.WriteCSV(&data, mib<<20); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if _, err := srv.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(srv.bucket), Key: aws.String("orders/orders.csv"), Body: bytes.NewReader(data.Bytes())}); err != nil {
		b.Fatal(err)
	}
	c := s3conn.New(hclog.NewNullLogger())
	if ferrs, err := c.Configure(ctx, srv.config(b, map[string]any{"path_prefix": "orders/", "file_format": "csv"})); err != nil || len(ferrs) > 0 {
		b.Fatal(ferrs, err)
	}
	streams, err := c.Discover(ctx)
	if err != nil || len(streams) != 1 {
		b.Fatal(streams, err)
	}
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		req := sdk.ReadRequest{Stream: streams[0].Name}
		for {
			p, err := c.ReadPage(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if p.Records != nil {
				p.Records.Release()
			}
			if p.Done {
				break
			}
			req.Checkpoint = p.Checkpoint
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time (user and system, every thread) the process
// has used.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
