package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/sqlflow/sqlflow-host/internal/procstat"
	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
)

// BenchmarkE2EDownload measures reading parquet objects from S3 (MinIO on
// loopback): SQLFLOW_BENCH_S3_MIB MiB (default 1,100) of generated parquet
// (snappy, row groups of 1 Mi rows, objects of about 128 MiB) in
//
//   - a plain download of every object with aws-sdk-go-v2's transfer
//     manager (feature/s3/transfermanager DownloadObject, default part size
//     and concurrency) into a sink that drops the bytes: the practical
//     limit of the machine and the server;
//   - the connector in-process: ReadPage to the end, each page encoded as
//     Arrow IPC as the SDK does, no gRPC;
//   - `sqlflow-host run` (compiled host and plugins) from the s3 source to
//     the memory destination (which holds the table: the source, the host
//     and gRPC without a file format to write) and to the parquet
//     destination on local disk (snappy, the source's codec), the source's
//     rate limit lifted; and to memory under the s3 profile as it is
//     (3,000 calls a minute, and each page is a call).
//
// The measurements alternate for SQLFLOW_BENCH_ROUNDS rounds (default 3)
// and the medians are reported: MB/s of parquet bytes read from S3, rows/s,
// the share of the plain download, and the peak RSS of the host and each
// plugin. Run it with
//
//	eval "$(.ci/minio.sh)"   # or the lead's /tmp/minio.env
//	SQLFLOW_BENCH_E2E=1 go test -run '^$' -bench E2EDownload -benchtime 1x -timeout 60m ./plugins/s3/
func BenchmarkE2EDownload(b *testing.B) {
	if os.Getenv("SQLFLOW_BENCH_E2E") != "1" {
		b.Skip("set SQLFLOW_BENCH_E2E=1 to run the end-to-end s3 download benchmark")
	}
	srv := newServer(b)
	mib, rounds := benchParams()
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	tm := transfermanager.New(srv.s3)

	start := time.Now()
	var keys []string
	var bytes, rows int64
	for i := 0; bytes < mib<<20; i++ {
		key := fmt.Sprintf("bench/orders/part-%03d.parquet", i)
		n, size := uploadParquet(ctx, b, tm, srv.bucket, key, uint64(i), min(128<<20, mib<<20-bytes))
		keys = append(keys, key)
		bytes += size
		rows += n
	}
	b.Logf("generated %d parquet objects, %d MiB, %d rows in %.1fs", len(keys), bytes>>20, rows, time.Since(start).Seconds())

	bin := buildBenchBinaries(b, "s3", "parquet", "memory", "csv")
	work := b.TempDir()
	pipeline := func(name, dest, resilience string) string {
		p := filepath.Join(work, name+".yaml")
		cfg := fmt.Sprintf(`version: 1
sources:
  lake:
    type: s3
    bucket: %s
    path_prefix: bench/orders/
    endpoint_url: %s
    access_key_id: ${SQLFLOW_TEST_S3_ACCESS_KEY}
    secret_access_key: ${SQLFLOW_TEST_S3_SECRET_KEY}
%s
destinations:
  local:
    %s
flows:
  - {name: download, from: lake, stream: orders, to: local, target: orders.parquet, mode: replace}
`, srv.bucket, srv.endpoint, resilience, dest)
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			b.Fatal(err)
		}
		return p
	}
	// The CLI runs: the s3 profile as it is, and with its rate limit (100
	// calls a minute, which caps 8 MiB pages at about 14 MB/s) lifted.
	lifted := "    resilience: {rate_limit: {max_requests_per_minute: 60000, burst_size: 100}}"
	type variant struct{ name, pipeline string }
	// The parquet destination writes the whole file at commit: give that
	// call more than the file profile's timeout on a busy machine.
	parquetDest := "{type: parquet, path: " + filepath.Join(work, "out") + ", compression: snappy, resilience: {timeout: 1800}}"
	memoryDest := "{type: memory, table_name: orders}"
	variants := []variant{
		{"sqlflow-host run → memory", pipeline("memory-lifted", memoryDest, lifted)},
		{"sqlflow-host run → parquet (snappy)", pipeline("parquet-lifted", parquetDest, lifted)},
		{"sqlflow-host run → memory, s3 profile", pipeline("memory-profile", memoryDest, "")},
	}
	// SQLFLOW_BENCH_S3_SKIP_CLI=1 leaves out the CLI runs (to profile the
	// in-process read with -cpuprofile); SQLFLOW_BENCH_S3_SKIP_PROFILE=1
	// the slow run under the s3 profile's rate limit.
	if os.Getenv("SQLFLOW_BENCH_S3_SKIP_CLI") == "1" {
		variants = nil
	} else if os.Getenv("SQLFLOW_BENCH_S3_SKIP_PROFILE") == "1" {
		variants = variants[:2]
	}
	results := map[string][]dlResult{}
	for round := 0; round < rounds; round++ {
		results["transfer manager download"] = append(results["transfer manager download"], tmDownload(ctx, b, tm, srv.bucket, keys, bytes, rows))
		results["connector in-process"] = append(results["connector in-process"], inProcessRead(ctx, b, srv, bytes))
		for i, v := range variants {
			if i == 2 && round > 0 {
				break // the run under the profile's rate limit is slow: once
			}
			r := runDownload(ctx, b, bin, v.pipeline, v.name)
			r.bytes, r.rows = bytes, rows
			results[v.name] = append(results[v.name], r)
			os.RemoveAll(filepath.Join(work, "out"))
		}
	}
	names := []string{"transfer manager download", "connector in-process"}
	for _, v := range variants {
		names = append(names, v.name)
	}
	base := medianRun(results[names[0]], func(r dlResult) time.Duration { return r.elapsed }).mbPerSec()
	var out strings.Builder
	fmt.Fprintf(&out, "\n%-40s %9s %8s %12s %8s %10s  %s\n", "", "seconds", "MB/s", "rows/s", "of dl", "host MiB", "plugins MiB")
	for _, n := range names {
		if len(results[n]) == 0 {
			continue
		}
		r := medianRun(results[n], func(r dlResult) time.Duration { return r.elapsed })
		fmt.Fprintf(&out, "%-40s %9.2f %8.1f %12.0f %7.0f%% %10s  %s\n", n, r.elapsed.Seconds(), r.mbPerSec(), float64(r.rows)/r.elapsed.Seconds(),
			100*r.mbPerSec()/base, rssMiB(r.hostRSS), r.pluginRSS)
		var all []string
		for _, x := range results[n] {
			all = append(all, fmt.Sprintf("%.2fs", x.elapsed.Seconds()))
		}
		fmt.Fprintf(&out, "%-40s   runs: %s\n", "", strings.Join(all, " "))
		b.ReportMetric(r.mbPerSec(), strings.NewReplacer(" ", "_", "→", "to", ",", "").Replace(n)+"_MB/s")
	}
	// Printed, not logged: go test cuts a benchmark's log to a few lines.
	fmt.Print(out.String())
}

// dlResult is one measured read of the dataset.
type dlResult struct {
	elapsed     time.Duration
	bytes, rows int64
	hostRSS     int64
	pluginRSS   string
}

func (r dlResult) mbPerSec() float64 { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }

// benchSchema is the generated dataset's schema: an order id, a customer,
// an amount, a random 16-character code and a time.
var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "customer", Type: arrow.PrimitiveTypes.Int64},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	{Name: "code", Type: arrow.BinaryTypes.String},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
}, nil)

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// uploadParquet streams a generated parquet object of about size bytes to
// key through the transfer manager (the writer feeds a pipe the upload
// reads, so the object is never held whole). It returns its rows and size.
func uploadParquet(ctx context.Context, b testing.TB, tm *transfermanager.Client, bucket, key string, seed uint64, size int64) (int64, int64) {
	pr, pw := io.Pipe()
	cw := &countingWriter{w: pw}
	var rows int64
	go func() {
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(1<<20), parquet.WithDictionaryDefault(false))
		w, err := pqarrow.NewFileWriter(benchSchema, cw, props, pqarrow.NewArrowWriterProperties())
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		rng := rand.New(rand.NewPCG(seed, 7))
		bld := array.NewRecordBuilder(memory.DefaultAllocator, benchSchema)
		defer bld.Release()
		code := make([]byte, 16)
		const hex = "0123456789abcdef"
		for cw.n < size {
			for range 65536 {
				bld.Field(0).(*array.Int64Builder).Append(int64(seed)<<40 | rows)
				bld.Field(1).(*array.Int64Builder).Append(rng.Int64N(1_000_000))
				bld.Field(2).(*array.Float64Builder).Append(float64(rng.IntN(1_000_000)) / 100)
				for i := range code {
					code[i] = hex[rng.IntN(16)]
				}
				bld.Field(3).(*array.StringBuilder).Append(string(code))
				bld.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + rows*1_000_000 + rng.Int64N(1_000_000)))
				rows++
			}
			rec := bld.NewRecordBatch()
			err = w.WriteBuffered(rec)
			rec.Release()
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(w.Close())
	}()
	if _, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: pr}); err != nil {
		pr.CloseWithError(err)
		b.Fatalf("upload %s: %v", key, err)
	}
	return rows, cw.n
}

// discardAt is an io.WriterAt that drops what is written to it.
type discardAt struct{}

func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// tmDownload downloads every object with the transfer manager, one object
// after another (each with the manager's own part concurrency).
func tmDownload(ctx context.Context, b *testing.B, tm *transfermanager.Client, bucket string, keys []string, bytes, rows int64) dlResult {
	t0 := time.Now()
	var got int64
	for _, k := range keys {
		out, err := tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), WriterAt: discardAt{}})
		if err != nil {
			b.Fatalf("download %s: %v", k, err)
		}
		got += aws.ToInt64(out.ContentLength)
	}
	if got != bytes {
		b.Fatalf("downloaded %d bytes, want %d", got, bytes)
	}
	hwm, _ := procstat.PeakRSS(os.Getpid())
	return dlResult{elapsed: time.Since(t0), bytes: bytes, rows: rows, pluginRSS: fmt.Sprintf("(benchmark process %d)", hwm>>20)}
}

// inProcessRead reads the stream with the connector in this process, as
// the SDK would serve it (each page encoded as Arrow IPC), without gRPC.
func inProcessRead(ctx context.Context, b *testing.B, srv *server, bytes int64) dlResult {
	c := s3conn.New(nil)
	cfg, _ := json.Marshal(map[string]any{
		"bucket": srv.bucket, "path_prefix": "bench/orders/", "endpoint_url": srv.endpoint,
		"access_key_id": srv.access, "secret_access_key": srv.secret,
	})
	t0 := time.Now()
	if fe, err := c.Configure(ctx, cfg); err != nil || len(fe) > 0 {
		b.Fatalf("Configure: %v %v", fe, err)
	}
	var rows int64
	req := sdk.ReadRequest{Stream: "orders", MaxRows: 1 << 20, MaxBytes: 8 << 20}
	for {
		p, err := c.ReadPage(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if p.Records != nil {
			rows += p.Records.NumRows()
			if _, err := arrowipc.EncodeRecord(p.Records); err != nil {
				b.Fatal(err)
			}
			p.Records.Release()
		}
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	return dlResult{elapsed: time.Since(t0), bytes: bytes, rows: rows, pluginRSS: "(in the benchmark process)"}
}

// runDownload runs `sqlflow-host run` on the pipeline, sampling the peak
// RSS of the host and its plugins.
func runDownload(ctx context.Context, b *testing.B, bin, pipeline, name string) dlResult {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
		"--state-dir", filepath.Join(filepath.Dir(pipeline), "state"), "run", pipeline)
	cmd.Dir = filepath.Dir(pipeline)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := procstat.Sample(cmd.Process.Pid, 50*time.Millisecond)
	err := cmd.Wait()
	elapsed := time.Since(t0)
	peaks := s.Stop()
	if err != nil {
		b.Fatalf("%s: %v\n%s", name, err, out.String())
	}
	r := dlResult{elapsed: elapsed, hostRSS: peaks["sqlflow-host"]}
	var parts []string
	for comm, v := range peaks {
		if strings.HasPrefix(comm, "sqlflow-plugin-") && comm != "sqlflow-plugin-" {
			// (a process caught between fork and exec has no name of its own)
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(comm, "sqlflow-plugin-"), v>>20))
		}
	}
	sort.Strings(parts)
	r.pluginRSS = strings.Join(parts, ", ")
	return r
}
