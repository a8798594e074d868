package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sqlflow/sqlflow-host/internal/procstat"
	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// BenchmarkE2EUpload measures writing parquet to S3 (MinIO on loopback):
// a local parquet file of SQLFLOW_BENCH_S3_MIB MiB (default 1,100) of
// generated orders (zstd, the s3 destination's codec, so the dataset is
// about as large as the file) goes
//
//   - to one object with aws-sdk-go-v2's transfer manager
//     (feature/s3/transfermanager UploadObject, default part size and
//     concurrency): the practical limit of the machine and the server;
//   - through `sqlflow-host run` (compiled host and plugins): parquet
//     source → s3 destination (parquet), with the destination's rate limit
//     off (what the connector can do), and once more with the s3 profile's
//     default rate limit (3,000 calls a minute) when SQLFLOW_BENCH_S3_PROFILE=1.
//
// The plain upload and the connector alternate for SQLFLOW_BENCH_ROUNDS
// rounds (default 3) and the medians are reported: MB/s of the source
// file's bytes, rows/s, the share of the plain upload, the bytes of the
// dataset written, and the peak RSS of the host and each plugin. The last
// connector run's dataset is read back (row count from the footers). Run it
// with
//
//	eval "$(.ci/minio.sh)"   # or the lead's /tmp/minio.env
//	SQLFLOW_BENCH_E2E=1 go test -run '^$' -bench E2EUpload -benchtime 1x -timeout 60m ./plugins/s3/
func BenchmarkE2EUpload(b *testing.B) {
	if os.Getenv("SQLFLOW_BENCH_E2E") != "1" {
		b.Skip("set SQLFLOW_BENCH_E2E=1 to run the end-to-end s3 upload benchmark")
	}
	srv := newServer(b)
	mib, rounds := benchParams()
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	dir := b.TempDir()
	src := filepath.Join(dir, "orders.parquet")
	t0 := time.Now()
	rows, size := writeOrdersParquet(b, src, mib<<20)
	b.Logf("generated %s: %d rows, %.1f MiB in %.1fs", src, rows, float64(size)/(1<<20), time.Since(t0).Seconds())
	bin := buildBenchBinaries(b, "s3", "parquet")
	tm := transfermanager.New(srv.s3)

	pipeline := func(name, resilience string) string {
		p := filepath.Join(dir, name+".yaml")
		yaml := fmt.Sprintf(`version: 1
sources:
  file: {type: parquet, path: %q}
destinations:
  lake: {type: s3, bucket: %s, endpoint_url: %q, access_key_id: "${S3_KEY}", secret_access_key: "${S3_SECRET}", path_prefix: bench, file_format: parquet%s}
flows:
  - {name: orders, from: file, stream: orders, to: lake, target: orders, mode: replace}
`, src, srv.bucket, srv.endpoint, resilience)
		if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
			b.Fatal(err)
		}
		return p
	}
	fast := pipeline("no_rate_limit", ", resilience: {rate_limit: false}")
	env := []string{"S3_KEY=" + srv.access, "S3_SECRET=" + srv.secret}

	var plain, conn []upResult
	for r := range rounds {
		{
			f, err := os.Open(src)
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			_, err = tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(srv.bucket), Key: aws.String("plain/orders.parquet"), Body: f})
			el := time.Since(t0)
			f.Close()
			if err != nil {
				b.Fatalf("transfer manager upload: %v", err)
			}
			plain = append(plain, upResult{name: "transfer manager UploadObject", bytes: size, rows: rows, elapsed: el})
			deletePrefix(ctx, b, srv, "plain/")
		}
		{
			res := runUpload(ctx, b, bin, fast, env, "sqlflow-host run parquet → s3")
			res.bytes, res.rows = size, rows
			res.written = prefixBytes(ctx, b, srv, "bench/orders/")
			conn = append(conn, res)
			if r < rounds-1 {
				deletePrefix(ctx, b, srv, "bench/")
			}
		}
		b.Logf("round %d: plain %.1f MB/s, connector %.1f MB/s", r+1, plain[r].mbPerSec(), conn[r].mbPerSec())
	}
	if got := datasetRows(ctx, b, srv, "bench/orders"); got != rows {
		b.Errorf("the dataset holds %d rows, the file %d", got, rows)
	}
	results := []upResult{medianRun(plain, func(r upResult) time.Duration { return r.elapsed }), medianRun(conn, func(r upResult) time.Duration { return r.elapsed })}
	if os.Getenv("SQLFLOW_BENCH_S3_PROFILE") == "1" {
		deletePrefix(ctx, b, srv, "bench/")
		res := runUpload(ctx, b, bin, pipeline("profile", ""), env, "… with the s3 profile's rate limit")
		res.bytes, res.rows = size, rows
		res.written = prefixBytes(ctx, b, srv, "bench/orders/")
		results = append(results, res)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%d rounds, medians; %.1f MiB parquet file, %d rows; load average %s on %s cores\n", rounds, float64(size)/(1<<20), rows, loadAvg(), nproc())
	fmt.Fprintf(&sb, "%-38s %8s %9s %12s %8s %12s %12s  %-24s %s\n", "run", "seconds", "MB/s", "rows/s", "share", "written MiB", "host RSS MiB", "plugin RSS MiB", "CPU time")
	for _, r := range results {
		fmt.Fprintf(&sb, "%-38s %8.2f %9.1f %12.0f %7.0f%% %12.1f %12s  %-24s %s\n", r.name, r.elapsed.Seconds(), r.mbPerSec(), r.rowsPerSec(),
			100*r.mbPerSec()/results[0].mbPerSec(), float64(max(r.written, r.bytes*boolInt(r.written == 0)))/(1<<20), rssMiB(r.peaks["sqlflow-host"]), r.pluginRSS(), r.cpuShares())
		b.ReportMetric(r.mbPerSec(), strings.NewReplacer(" ", "_", "→", "to", "…", "", "'", "").Replace(r.name)+"_MB/s")
	}
	b.Log(sb.String())
	fmt.Fprint(os.Stderr, sb.String())
}

type upResult struct {
	name    string
	bytes   int64 // source bytes
	written int64 // bytes of the dataset written
	rows    int64
	elapsed time.Duration
	peaks   map[string]int64   // peak RSS by executable
	cpu     map[string]float64 // CPU seconds by executable
}

func (r upResult) mbPerSec() float64   { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }
func (r upResult) rowsPerSec() float64 { return float64(r.rows) / r.elapsed.Seconds() }

func (r upResult) pluginRSS() string {
	var parts []string
	for name, v := range r.peaks {
		if name != "sqlflow-host" {
			parts = append(parts, fmt.Sprintf("%s %s", strings.TrimPrefix(name, "sqlflow-plugin-"), rssMiB(v)))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (r upResult) cpuShares() string {
	var parts []string
	for name, v := range r.cpu {
		parts = append(parts, fmt.Sprintf("%s %.1fs", strings.TrimPrefix(name, "sqlflow-plugin-"), v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ordersSchema is the generated file's schema.
var ordersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "customer", Type: arrow.PrimitiveTypes.Int64},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	{Name: "code", Type: arrow.BinaryTypes.String},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// writeOrdersParquet writes generated orders to path (zstd, row groups of
// 1 Mi rows) until the file reaches size bytes; it returns the rows and the
// file's size.
func writeOrdersParquet(b *testing.B, path string, size int64) (int64, int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(1<<20))
	w, err := pqarrow.NewFileWriter(ordersSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	bld := array.NewRecordBuilder(memory.DefaultAllocator, ordersSchema)
	defer bld.Release()
	code := make([]byte, 16)
	notes := []string{"express", "gift wrap", "call before delivery", "leave at the door", "fragile"}
	var rows int64
	for {
		st, err := f.Stat()
		if err != nil {
			b.Fatal(err)
		}
		if st.Size() >= size {
			break
		}
		for range 1 << 20 {
			bld.Field(0).(*array.Int64Builder).Append(rows)
			bld.Field(1).(*array.Int64Builder).Append(r.Int64N(1_000_000))
			bld.Field(2).(*array.Float64Builder).Append(float64(r.IntN(10_000_000)) / 100)
			v := r.Uint64()
			for i := range code {
				code[i] = "0123456789abcdef"[v&15]
				v >>= 4
			}
			bld.Field(3).(*array.StringBuilder).BinaryBuilder.Append(code)
			bld.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + rows*1_000_000 + r.Int64N(1_000_000)))
			if n := r.IntN(8); n < len(notes) {
				bld.Field(5).(*array.StringBuilder).Append(notes[n])
			} else {
				bld.Field(5).AppendNull()
			}
			rows++
		}
		rec := bld.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return rows, st.Size()
}

// runUpload runs `sqlflow-host run` on a pipeline, sampling every 50 ms
// the peak RSS (VmHWM) and the CPU time of the host and each plugin, by
// executable name.
func runUpload(ctx context.Context, b *testing.B, bin, pipeline string, env []string, name string) upResult {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
		"--state-dir", filepath.Join(filepath.Dir(pipeline), "state"), "run", pipeline)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	peaks, cpu := map[string]int64{}, map[string]float64{}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for pid := range procstat.Tree(cmd.Process.Pid) {
				exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				if err != nil {
					continue
				}
				exe = filepath.Base(exe)
				if hwm, err := procstat.PeakRSS(pid); err == nil {
					peaks[exe] = max(peaks[exe], hwm)
				}
				if c := cpuSeconds(pid); c > 0 {
					cpu[exe] = max(cpu[exe], c) // one process per name (no restarts here)
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	el := time.Since(t0)
	close(stop)
	<-done
	if err != nil {
		b.Fatalf("%s: %v\n%s", name, err, out.String())
	}
	return upResult{name: name, elapsed: el, peaks: peaks, cpu: cpu}
}

// cpuSeconds is a process's user and system CPU time from /proc/PID/stat.
func cpuSeconds(pid int) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // clock ticks; USER_HZ is 100 on Linux
}

func listPrefix(ctx context.Context, b *testing.B, srv *server, prefix string) []s3types.Object {
	var out []s3types.Object
	p := s3.NewListObjectsV2Paginator(srv.s3, &s3.ListObjectsV2Input{Bucket: aws.String(srv.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, page.Contents...)
	}
	return out
}

func prefixBytes(ctx context.Context, b *testing.B, srv *server, prefix string) int64 {
	var n int64
	for _, o := range listPrefix(ctx, b, srv, prefix) {
		n += aws.ToInt64(o.Size)
	}
	return n
}

func deletePrefix(ctx context.Context, b *testing.B, srv *server, prefix string) {
	objs := listPrefix(ctx, b, srv, prefix)
	for len(objs) > 0 {
		n := min(len(objs), 1000)
		ids := make([]s3types.ObjectIdentifier, n)
		for i, o := range objs[:n] {
			ids[i] = s3types.ObjectIdentifier{Key: o.Key}
		}
		if _, err := srv.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(srv.bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			b.Fatal(err)
		}
		objs = objs[n:]
	}
}

// datasetRows counts the rows of the parquet dataset under dir from the
// footers of the objects its manifest names.
func datasetRows(ctx context.Context, b *testing.B, srv *server, dir string) int64 {
	files, err := srv.manifestFiles(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	var rows int64
	for _, f := range files {
		key := dir + "/" + f
		h, err := srv.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(srv.bucket), Key: aws.String(key)})
		if err != nil {
			b.Fatal(err)
		}
		rdr, err := file.NewParquetReader(&objectReaderAt{ctx: ctx, srv: srv, key: key, size: aws.ToInt64(h.ContentLength)})
		if err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		rows += rdr.NumRows()
		rdr.Close()
	}
	return rows
}

// objectReaderAt reads an object by range requests.
type objectReaderAt struct {
	ctx  context.Context
	srv  *server
	key  string
	size int64
	pos  int64
}

func (r *objectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	out, err := r.srv.s3.GetObject(r.ctx, &s3.GetObjectInput{Bucket: aws.String(r.srv.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1))})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	n := 0
	for n < len(p) {
		m, err := out.Body.Read(p[n:])
		n += m
		if err != nil {
			break
		}
	}
	return n, nil
}

func (r *objectReaderAt) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 1:
		off += r.pos
	case 2:
		off += r.size
	}
	r.pos = off
	return off, nil
}

func (r *objectReaderAt) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	return n, err
}

func loadAvg() string {
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		return strings.Fields(string(l))[0]
	}
	return "?"
}

func nproc() string {
	out, _ := exec.Command("nproc").Output()
	return strings.TrimSpace(string(out))
}

// BenchmarkDestinationInProcess measures the s3 destination alone, in this
// process: the records of a generated parquet file of SQLFLOW_BENCH_S3_MIB
// MiB (default 200), in pages of about 8 MiB of Arrow data as the host
// sends them, through BeginWrite, WriteBatch and CommitWrite. With
// -cpuprofile it shows where the destination spends its time. It needs
// SQLFLOW_BENCH_E2E=1:
//
//	SQLFLOW_BENCH_E2E=1 go test -run '^$' -bench DestinationInProcess -benchtime 1x -cpuprofile cpu.out ./plugins/s3/
func BenchmarkDestinationInProcess(b *testing.B) {
	if os.Getenv("SQLFLOW_BENCH_E2E") != "1" {
		b.Skip("set SQLFLOW_BENCH_E2E=1 to run the s3 destination benchmark")
	}
	srv := newServer(b)
	mib := int64(200)
	if s := os.Getenv("SQLFLOW_BENCH_S3_MIB"); s != "" {
		mib, _ = strconv.ParseInt(s, 10, 64)
	}
	ctx := context.Background()
	src := filepath.Join(b.TempDir(), "orders.parquet")
	rows, size := writeOrdersParquet(b, src, mib<<20)
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rdr, err := file.NewParquetReader(f)
	if err != nil {
		b.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 160_000}, memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var recs []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	rr.Release()
	b.ResetTimer()
	for i := range b.N {
		c := s3conn.New(nil)
		if fe, err := c.Configure(ctx, srv.config(b, map[string]any{"path_prefix": "inproc", "file_format": "parquet"})); err != nil || len(fe) > 0 {
			b.Fatal(fe, err)
		}
		id := fmt.Sprintf("w%d", i)
		if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: id, Flow: "bench", Target: "orders", Schema: recs[0].Schema(), Mode: sdk.ModeReplace}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for seq, rec := range recs {
			if err := c.WriteBatch(ctx, id, int64(seq+1), rec); err != nil {
				b.Fatal(err)
			}
		}
		if err := c.CommitWrite(ctx, id, nil); err != nil {
			b.Fatal(err)
		}
		el := time.Since(t0)
		b.ReportMetric(float64(size)/1e6/el.Seconds(), "file_MB/s")
		b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
	}
}
