package bench

// End-to-end benchmarks. They run only with SQLFLOW_BENCH_E2E=1 (`make
// bench-e2e`); docs/benchmarks.md says what each measures and how to read
// the figures.
//
//	BenchmarkE2ECSVToParquet/size=S/inprocess  csv → parquet, both connectors in this process (connector.InProcess)
//	BenchmarkE2ECSVToParquet/size=S/plugins    the same flow, each connector a real plugin process
//	BenchmarkE2ECSVToParquet/size=S/cli        `sqlflow-host run pipeline.yaml`, the real binary as a subprocess
//	BenchmarkE2EBoundary/csv_to_parquet/size=S  in-process and plugin runs alternated; medians and the plugin boundary's cost
//	BenchmarkE2EMemoryToMemory/rows=N          memory generator → memory destination (10 million rows), alternated the same way
//
// Environment:
//
//	SQLFLOW_BENCH_E2E=1        run them (otherwise they are skipped)
//	SQLFLOW_BENCH_SIZES        CSV sizes, comma-separated (default "256MiB,1GiB")
//	SQLFLOW_BENCH_BOUNDARY     CSV size of BenchmarkE2EBoundary (default "256MiB")
//	SQLFLOW_BENCH_REPS         runs of each side in BenchmarkE2EBoundary and BenchmarkE2EMemoryToMemory (default 3)
//	SQLFLOW_BENCH_MEM_ROWS     rows of the memory flow (default 10000000)
//	SQLFLOW_BENCH_DIR          cache of generated CSV files (default $TMPDIR/sqlflow-bench)

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/plugins/parquet/parquetconn"
	"github.com/sqlflow/sqlflow-host/sdk"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

const envE2E = "SQLFLOW_BENCH_E2E"

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func requireE2E(b *testing.B) {
	b.Helper()
	if os.Getenv(envE2E) != "1" {
		b.Skipf("end-to-end benchmark: set %s=1 to run it (make bench-e2e); it needs several GB of disk and minutes", envE2E)
	}
	if runtime.GOOS != "linux" {
		b.Skip("end-to-end benchmarks read peak RSS from /proc; Linux only")
	}
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(b *testing.B, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func sizes(b *testing.B, name, def string) []int64 {
	var out []int64
	for _, s := range strings.Split(envString(name, def), ",") {
		n, err := ParseSize(strings.TrimSpace(s))
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		out = append(out, n)
	}
	return out
}

// ---- binaries ----

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// binaries builds the host and the csv, parquet and memory plugins from
// this checkout into a temporary directory (once per test binary) and
// returns it; the plugins are sqlflow-plugin-<type> in it, the host
// sqlflow-host.
func binaries(b *testing.B) string {
	b.Helper()
	binOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			binErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir, err := testenv.MkdirSafe("bench-bin-") // the host refuses plugins under /tmp
		if err != nil {
			binErr = err
			return
		}
		binDir = dir
		for name, pkg := range map[string]string{
			"sqlflow-host":           "./cmd/sqlflow-host",
			"sqlflow-plugin-csv":     "./plugins/csv",
			"sqlflow-plugin-parquet": "./plugins/parquet",
			"sqlflow-plugin-memory":  "./plugins/memory",
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binDir
}

// ---- peak RSS ----

// peakRSS returns VmHWM (the peak resident set size) of a process, in
// bytes; pid 0 means this process. It returns 0 when the process is gone.
func peakRSS(pid int) int64 {
	p := "/proc/self/status"
	if pid > 0 {
		p = fmt.Sprintf("/proc/%d/status", pid)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS returns freed memory to the OS and resets this process's
// VmHWM to its current RSS (clear_refs 5), so a run's peak is its own and
// not a previous run's.
func resetPeakRSS(b *testing.B) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS (%v); host_peak_rss_MB includes earlier runs", err)
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// ---- flows ----

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

func configure(b *testing.B, c connector.Conn, what string, cfg any) {
	b.Helper()
	fe, err := c.Configure(context.Background(), mustJSON(cfg))
	if err != nil || len(fe) > 0 {
		b.Fatalf("configure %s: %v %v", what, fe, err)
	}
}

// flowSpec is one flow of a benchmark: connector types and configs.
type flowSpec struct {
	srcType, dstType string
	srcCfg, dstCfg   any
	target           string
	// outFile is the file the flow writes, when it writes one.
	outFile string
}

// timed is a connector.Conn that adds up the time spent in its calls, so a
// flow's time splits into streaming (pages read and written, overlapped)
// and the destination's commit.
type timed struct {
	connector.Conn
	read, write, commit time.Duration
}

func (t *timed) ReadPage(ctx context.Context, req sdk.ReadRequest) (connector.Page, error) {
	s := time.Now()
	defer func() { t.read += time.Since(s) }()
	return t.Conn.ReadPage(ctx, req)
}

func (t *timed) WriteBatch(ctx context.Context, id string, seq int64, rec []byte) error {
	s := time.Now()
	defer func() { t.write += time.Since(s) }()
	return t.Conn.WriteBatch(ctx, id, seq, rec)
}

func (t *timed) CommitWrite(ctx context.Context, id string, state []byte) (map[string]string, error) {
	s := time.Now()
	defer func() { t.commit += time.Since(s) }()
	return t.Conn.CommitWrite(ctx, id, state)
}

// endpoints are a flow's two connectors and how to stop them.
type endpoints struct {
	src, dst       connector.Conn
	srcPid, dstPid int // 0 in-process
	stop           func()
}

func inProcess(typ string) connector.Conn {
	switch typ {
	case "csv":
		return connector.NewInProcess(csvconn.New(hclog.NewNullLogger()))
	case "parquet":
		return connector.NewInProcess(parquetconn.New(hclog.NewNullLogger()))
	case "memory":
		return connector.NewInProcess(memconn.New(hclog.NewNullLogger()))
	}
	panic("unknown connector type " + typ)
}

func startInProcess(b *testing.B, fs flowSpec) endpoints {
	return endpoints{src: inProcess(fs.srcType), dst: inProcess(fs.dstType), stop: func() {}}
}

func startPlugins(b *testing.B, fs flowSpec) endpoints { return startPluginsTLS(b, fs, true) }

// startPluginsPlain starts the plugins without AutoMTLS (plain gRPC over
// the Unix socket), which the CLI never does: BenchmarkE2EMTLS measures
// what TLS costs against it.
func startPluginsPlain(b *testing.B, fs flowSpec) endpoints { return startPluginsTLS(b, fs, false) }

func startPluginsTLS(b *testing.B, fs flowSpec, mtls bool) endpoints {
	b.Helper()
	l, err := plugin.NewLauncher(plugin.Dir{Path: binaries(b), From: "bench"}, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	l.WithoutMTLS = !mtls
	ctx := context.Background()
	src, err := l.Start(ctx, fs.srcType, "src")
	if err != nil {
		l.Close()
		b.Fatal(err)
	}
	dst, err := l.Start(ctx, fs.dstType, "dst")
	if err != nil {
		src.Kill()
		l.Close()
		b.Fatal(err)
	}
	return endpoints{src: src.Client, dst: dst.Client, srcPid: src.Pid(), dstPid: dst.Pid(),
		stop: func() { src.Kill(); dst.Kill(); l.Close() }}
}

// run is one measured flow.
type run struct {
	res                     pipeline.Result
	hostRSS, srcRSS, dstRSS int64 // peak RSS in bytes; src/dst 0 in-process
	// CPU seconds (user + system) during the flow: this process's, and the
	// plugin processes' over their lifetime (start-up is a few ms).
	hostCPU, srcCPU, dstCPU float64
	// Time in the source's ReadPage calls, in the destination's WriteBatch
	// calls (the two overlap) and in its CommitWrite.
	read, write, commit time.Duration
	// othersCPU is the CPU seconds other processes used during the run.
	othersCPU float64
}

func (r run) cpu() float64 { return r.hostCPU + r.srcCPU + r.dstCPU }

// selfCPU returns this process's user + system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procCPU returns a process's user + system CPU seconds from
// /proc/<pid>/stat (clock ticks of 1/100 s, Linux's USER_HZ).
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// machineCPU returns the CPU seconds every process of the machine has used
// (user, nice, system, irq, softirq and steal of /proc/stat's cpu line).
// Its growth during a run minus the run's own CPU is what other processes
// took: a busy neighbour makes wall-clock figures unreliable.
func machineCPU() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(f[i], 64)
		ticks += v
	}
	return ticks / 100
}

// loadAvg returns the 1-minute load average, to tell a busy machine in logs.
func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// runFlow configures the connectors, runs the flow with the timer on, and
// reads the peak RSS of this process and of the plugin processes.
func runFlow(b *testing.B, start func(*testing.B, flowSpec) endpoints, fs flowSpec) run {
	b.Helper()
	b.StopTimer()
	resetPeakRSS(b)
	ep := start(b, fs)
	defer ep.stop()
	configure(b, ep.src, "source", fs.srcCfg)
	configure(b, ep.dst, "destination", fs.dstCfg)
	ctx := context.Background()
	streams, err := ep.src.Discover(ctx)
	if err != nil || len(streams) != 1 {
		b.Fatalf("discover: %v %v", streams, err)
	}
	src, dst := &timed{Conn: ep.src}, &timed{Conn: ep.dst}
	f := pipeline.Flow{
		Name: "bench", SourceName: "src", DestName: "dst", Source: src, Dest: dst,
		Stream: streams[0].Name, Schema: streams[0].Schema, Target: fs.target, Mode: sdk.ModeReplace,
	}
	cpu0, busy0 := selfCPU(), machineCPU()
	b.StartTimer()
	res, err := pipeline.Run(ctx, f, pipeline.Options{})
	b.StopTimer()
	busy := machineCPU() - busy0
	if err != nil {
		b.Fatal(err)
	}
	r := run{res: res, hostRSS: peakRSS(0), hostCPU: selfCPU() - cpu0, read: src.read, write: dst.write, commit: dst.commit}
	if ep.srcPid > 0 {
		r.srcRSS, r.dstRSS = peakRSS(ep.srcPid), peakRSS(ep.dstPid)
		r.srcCPU, r.dstCPU = procCPU(ep.srcPid), procCPU(ep.dstPid)
	}
	r.othersCPU = max(0, busy-r.cpu())
	return r
}

// results keeps rows/s by benchmark name, so the plugin run can report its
// cost against the in-process run of the same size.
var results sync.Map

// csvSpec is the csv → parquet flow of file, into a fresh directory that
// is removed when the (sub-)benchmark ends.
func csvSpec(b *testing.B, file CSVFile) flowSpec {
	out := b.TempDir()
	return flowSpec{
		srcType: "csv", dstType: "parquet",
		srcCfg:  map[string]any{"path": file.Path, "infer_decimals": false}, // floats, as the recorded numbers were measured
		dstCfg:  map[string]any{"path": out},
		target:  "orders.parquet",
		outFile: filepath.Join(out, "orders.parquet"),
	}
}

func csvFile(b *testing.B, size int64) CSVFile {
	b.Helper()
	start := time.Now()
	f, err := CachedCSV(size)
	if err != nil {
		b.Fatal(err)
	}
	if !f.Reused {
		b.Logf("generated %s (%d rows, %d bytes) in %.1fs", f.Path, f.Rows, f.Bytes, time.Since(start).Seconds())
	}
	return f
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// BenchmarkE2ECSVToParquet copies a generated CSV file to a Parquet file
// (zstd, the default) at each size of SQLFLOW_BENCH_SIZES, in-process,
// through plugin processes, and through the real CLI.
func BenchmarkE2ECSVToParquet(b *testing.B) {
	requireE2E(b)
	for _, size := range sizes(b, "SQLFLOW_BENCH_SIZES", "256MiB,1GiB") {
		file := csvFile(b, size)
		name := "size=" + FormatSize(size)
		for _, mode := range []string{"inprocess", "plugins"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				start := startInProcess
				if mode == "plugins" {
					start = startPlugins
				}
				var rows int64
				var secs, cpu float64
				var last run
				for range b.N {
					fs := csvSpec(b, file)
					last = runFlow(b, start, fs)
					if last.res.Rows != file.Rows {
						b.Fatalf("moved %d rows, the file has %d", last.res.Rows, file.Rows)
					}
					rows += last.res.Rows
					secs += last.res.Elapsed.Seconds()
					cpu += last.cpu()
					b.ReportMetric(mb(fileSize(fs.outFile)), "parquet_MB")
				}
				n := float64(rows) / float64(file.Rows)
				rps := float64(rows) / secs
				b.ReportMetric(rps, "rows/s")
				b.ReportMetric(n*mb(file.Bytes)/secs, "MB/s")
				b.ReportMetric(cpu/n, "cpu_s")
				b.ReportMetric(last.commit.Seconds(), "commit_s")
				b.ReportMetric(last.othersCPU, "others_cpu_s")
				b.ReportMetric(mb(last.hostRSS), "host_peak_rss_MB")
				if mode == "plugins" {
					b.ReportMetric(mb(last.srcRSS), "csv_plugin_peak_rss_MB")
					b.ReportMetric(mb(last.dstRSS), "parquet_plugin_peak_rss_MB")
					if ip, ok := results.Load(name + "/inprocess"); ok {
						b.ReportMetric(100*(1-rps/ip.(float64)), "boundary_cost_%")
					}
				}
				results.Store(name+"/"+mode, rps)
				b.Logf("%s %s: %d rows, %.0f MiB CSV, %.0f MiB Arrow IPC in %.2fs (ReadPage %.2fs, WriteBatch %.2fs, CommitWrite %.2fs): %.0f rows/s, %.1f MB/s; "+
					"CPU s host %.1f, csv plugin %.1f, parquet plugin %.1f, other processes %.1f; peak RSS MiB host %.0f, csv plugin %.0f, parquet plugin %.0f; load %s",
					name, mode, file.Rows, mb(file.Bytes), mb(last.res.Bytes), secs/n,
					last.read.Seconds(), last.write.Seconds(), last.commit.Seconds(), rps, n*mb(file.Bytes)/secs,
					last.hostCPU, last.srcCPU, last.dstCPU, last.othersCPU, mb(last.hostRSS), mb(last.srcRSS), mb(last.dstRSS), loadAvg())
			})
		}
		b.Run(name+"/cli", func(b *testing.B) { benchCLI(b, file) })
	}
}

// compare runs a flow in-process and through plugins, alternately, reps
// times each (alternating spreads drifts of a shared machine over both
// sides), and reports the median rows/s and CPU seconds of each side and
// the plugin boundary's cost: 1 - plugins/inprocess rows/s, and the extra
// CPU. bytesPerRow, when not 0, adds MB/s of input.
func compare(b *testing.B, reps int, spec func(*testing.B) flowSpec, wantRows int64, bytesPerRow float64) {
	var ip, pl, ipCPU, plCPU, others []float64
	var lastIP, lastPL run
	for range b.N {
		for range reps {
			lastIP = runAndClean(b, startInProcess, spec(b))
			lastPL = runAndClean(b, startPlugins, spec(b))
			for _, r := range []run{lastIP, lastPL} {
				if r.res.Rows != wantRows {
					b.Fatalf("moved %d rows, want %d", r.res.Rows, wantRows)
				}
			}
			ip, ipCPU = append(ip, lastIP.res.RowsPerSecond()), append(ipCPU, lastIP.cpu())
			pl, plCPU = append(pl, lastPL.res.RowsPerSecond()), append(plCPU, lastPL.cpu())
			others = append(others, lastIP.othersCPU, lastPL.othersCPU)
			b.Logf("rep: in-process %.0f rows/s in %.2fs (ReadPage %.2fs, WriteBatch %.2fs, CommitWrite %.2fs, CPU %.1fs); "+
				"plugins %.0f rows/s in %.2fs (ReadPage %.2fs, WriteBatch %.2fs, CommitWrite %.2fs, CPU %.1fs = host %.1f + source %.1f + destination %.1f); "+
				"other processes' CPU %.1fs and %.1fs; load %s",
				lastIP.res.RowsPerSecond(), lastIP.res.Elapsed.Seconds(), lastIP.read.Seconds(), lastIP.write.Seconds(), lastIP.commit.Seconds(), lastIP.cpu(),
				lastPL.res.RowsPerSecond(), lastPL.res.Elapsed.Seconds(), lastPL.read.Seconds(), lastPL.write.Seconds(), lastPL.commit.Seconds(), lastPL.cpu(),
				lastPL.hostCPU, lastPL.srcCPU, lastPL.dstCPU, lastIP.othersCPU, lastPL.othersCPU, loadAvg())
		}
	}
	mi, mp := median(ip), median(pl)
	b.ReportMetric(mi, "inprocess_rows/s")
	b.ReportMetric(mp, "plugins_rows/s")
	if bytesPerRow > 0 {
		b.ReportMetric(mi*bytesPerRow/(1<<20), "inprocess_MB/s")
		b.ReportMetric(mp*bytesPerRow/(1<<20), "plugins_MB/s")
	}
	b.ReportMetric(median(ipCPU), "inprocess_cpu_s")
	b.ReportMetric(median(plCPU), "plugins_cpu_s")
	b.ReportMetric(100*(1-mp/mi), "boundary_cost_%")
	b.ReportMetric(100*(median(plCPU)/median(ipCPU)-1), "boundary_cpu_%")
	b.ReportMetric(median(others), "others_cpu_s")
	b.ReportMetric(mb(lastIP.hostRSS), "inprocess_peak_rss_MB")
	b.ReportMetric(mb(lastPL.hostRSS), "host_peak_rss_MB")
	b.ReportMetric(mb(lastPL.srcRSS), "src_plugin_peak_rss_MB")
	b.ReportMetric(mb(lastPL.dstRSS), "dst_plugin_peak_rss_MB")
	b.Logf("in-process rows/s %v, plugins rows/s %v: medians %.0f vs %.0f, boundary cost %.1f%% of throughput, %+.1f%% CPU (%.1fs vs %.1fs)",
		rounded(ip), rounded(pl), mi, mp, 100*(1-mp/mi), 100*(median(plCPU)/median(ipCPU)-1), median(ipCPU), median(plCPU))
}

// runAndClean is runFlow, then removes the flow's output file, so that
// repeated runs do not pile up gigabytes.
func runAndClean(b *testing.B, start func(*testing.B, flowSpec) endpoints, fs flowSpec) run {
	r := runFlow(b, start, fs)
	if fs.outFile != "" {
		os.Remove(fs.outFile)
	}
	return r
}

// BenchmarkE2EBoundary runs the csv → parquet flow on the
// SQLFLOW_BENCH_BOUNDARY file in-process and through plugins, alternately,
// SQLFLOW_BENCH_REPS times each, and reports medians and the plugin
// boundary's cost.
func BenchmarkE2EBoundary(b *testing.B) {
	requireE2E(b)
	size := sizes(b, "SQLFLOW_BENCH_BOUNDARY", "256MiB")[0]
	reps := int(envInt(b, "SQLFLOW_BENCH_REPS", 3))
	file := csvFile(b, size)
	b.Run("csv_to_parquet/size="+FormatSize(size), func(b *testing.B) {
		compare(b, reps, func(b *testing.B) flowSpec { return csvSpec(b, file) }, file.Rows, float64(file.Bytes)/float64(file.Rows))
	})
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rounded(v []float64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x + 0.5)
	}
	return out
}

// BenchmarkE2EMemoryToMemory moves the memory connector's generated rows
// (SQLFLOW_BENCH_MEM_ROWS, default 10 million) into a memory destination,
// in-process and through plugins, alternately, SQLFLOW_BENCH_REPS times
// each. No files and no parsing: this is the host and protocol path with
// cheap connectors at both ends, so the boundary shows most here. The
// destination keeps every row in memory, so its peak RSS grows with the
// row count by design, and its commit computes the table's checksum.
func BenchmarkE2EMemoryToMemory(b *testing.B) {
	requireE2E(b)
	rows := envInt(b, "SQLFLOW_BENCH_MEM_ROWS", 10_000_000)
	reps := int(envInt(b, "SQLFLOW_BENCH_REPS", 3))
	spec := func(*testing.B) flowSpec {
		return flowSpec{
			srcType: "memory", dstType: "memory",
			srcCfg: map[string]any{"table_name": "orders", "generate": map[string]any{"rows": rows, "seed": 1}},
			dstCfg: map[string]any{},
			target: "orders",
		}
	}
	b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) { compare(b, reps, spec, rows, 0) })
}

// BenchmarkE2EMTLS moves the memory flow of BenchmarkE2EMemoryToMemory
// through plugins with AutoMTLS (as the CLI always does) and without it
// (plain gRPC on the Unix socket), alternately, SQLFLOW_BENCH_REPS times
// each, and reports what TLS costs in throughput and CPU.
func BenchmarkE2EMTLS(b *testing.B) {
	requireE2E(b)
	rows := envInt(b, "SQLFLOW_BENCH_MEM_ROWS", 10_000_000)
	reps := int(envInt(b, "SQLFLOW_BENCH_REPS", 3))
	fs := flowSpec{
		srcType: "memory", dstType: "memory",
		srcCfg: map[string]any{"table_name": "orders", "generate": map[string]any{"rows": rows, "seed": 1}},
		dstCfg: map[string]any{},
		target: "orders",
	}
	b.Run(fmt.Sprintf("memory/rows=%d", rows), func(b *testing.B) {
		var tls, plain, tlsCPU, plainCPU []float64
		for range b.N {
			for range reps {
				t := runAndClean(b, startPlugins, fs)
				p := runAndClean(b, startPluginsPlain, fs)
				for _, r := range []run{t, p} {
					if r.res.Rows != rows {
						b.Fatalf("moved %d rows, want %d", r.res.Rows, rows)
					}
				}
				tls, tlsCPU = append(tls, t.res.RowsPerSecond()), append(tlsCPU, t.cpu())
				plain, plainCPU = append(plain, p.res.RowsPerSecond()), append(plainCPU, p.cpu())
				b.Logf("rep: mTLS %.0f rows/s (CPU %.2fs = host %.2f + source %.2f + destination %.2f); plain %.0f rows/s (CPU %.2fs = host %.2f + source %.2f + destination %.2f); others' CPU %.1fs and %.1fs",
					t.res.RowsPerSecond(), t.cpu(), t.hostCPU, t.srcCPU, t.dstCPU,
					p.res.RowsPerSecond(), p.cpu(), p.hostCPU, p.srcCPU, p.dstCPU, t.othersCPU, p.othersCPU)
			}
		}
		mt, mp := median(tls), median(plain)
		b.ReportMetric(mt, "mtls_rows/s")
		b.ReportMetric(mp, "plain_rows/s")
		b.ReportMetric(median(tlsCPU), "mtls_cpu_s")
		b.ReportMetric(median(plainCPU), "plain_cpu_s")
		b.ReportMetric(100*(1-mt/mp), "mtls_cost_%")
		b.ReportMetric(100*(median(tlsCPU)/median(plainCPU)-1), "mtls_cpu_%")
		b.Logf("mTLS rows/s %v, plain rows/s %v: medians %.0f vs %.0f, mTLS costs %.1f%% of throughput and %+.1f%% CPU",
			rounded(tls), rounded(plain), mt, mp, 100*(1-mt/mp), 100*(median(tlsCPU)/median(plainCPU)-1))
	})
}

// ---- the CLI ----

// benchCLI runs `sqlflow-host run pipeline.yaml` as a subprocess on the
// file and reports its rows/s and the peak RSS of the host and of each
// plugin process, sampled from /proc every 50 ms (VmHWM is a high-water
// mark, so a sample misses at most the growth of the last 50 ms), plus the
// kernel's maximum over the host and the plugins it reaped (wait4's
// ru_maxrss).
func benchCLI(b *testing.B, file CSVFile) {
	bins := binaries(b)
	var last cliRun
	var rows int64
	var secs, wall, cpu float64
	for range b.N {
		b.StopTimer()
		work := b.TempDir()
		out := filepath.Join(work, "out")
		yaml := fmt.Sprintf(`version: 1
sources:
  orders_csv:
    type: csv
    path: %q
    infer_decimals: false
destinations:
  lake:
    type: parquet
    path: %q
flows:
  - name: csv_to_parquet
    from: orders_csv
    to: lake
    target: orders.parquet
`, file.Path, out)
		pf := filepath.Join(work, "pipeline.yaml")
		if err := os.WriteFile(pf, []byte(yaml), 0o644); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(bins, "sqlflow-host"), "run", "--plugins-dir", bins, pf)
		cmd.Dir = work
		b.StartTimer()
		last = runCLI(b, cmd)
		b.StopTimer()
		if last.rows != file.Rows {
			b.Fatalf("the CLI moved %d rows, the file has %d:\n%s", last.rows, file.Rows, last.stdout)
		}
		rows += last.rows
		secs += last.flowSeconds
		wall += last.wall.Seconds()
		cpu += last.cpu
	}
	n := float64(rows) / float64(file.Rows)
	b.ReportMetric(float64(rows)/secs, "rows/s")
	b.ReportMetric(n*mb(file.Bytes)/secs, "MB/s")
	b.ReportMetric(wall/n, "wall_s")
	b.ReportMetric(cpu/n, "cpu_s")
	b.ReportMetric(last.othersCPU, "others_cpu_s")
	b.ReportMetric(mb(last.hostRSS), "host_peak_rss_MB")
	b.ReportMetric(mb(last.plugins["csv"]), "csv_plugin_peak_rss_MB")
	b.ReportMetric(mb(last.plugins["parquet"]), "parquet_plugin_peak_rss_MB")
	b.ReportMetric(mb(last.maxrss), "tree_max_rss_MB")
	b.Logf("cli: %d rows in %.2fs (flow) / %.2fs (process): %.0f rows/s, %.1f MB/s; CPU s %.1f (host and plugins), other processes %.1f; peak RSS MiB host %.0f, csv plugin %.0f, parquet plugin %.0f, wait4 ru_maxrss %.0f; load %s\n%s",
		last.rows, last.flowSeconds, last.wall.Seconds(), float64(last.rows)/last.flowSeconds, mb(file.Bytes)/last.flowSeconds, last.cpu, last.othersCPU,
		mb(last.hostRSS), mb(last.plugins["csv"]), mb(last.plugins["parquet"]), mb(last.maxrss), loadAvg(), last.stdout)
}

type cliRun struct {
	stdout      string
	rows        int64
	flowSeconds float64
	wall        time.Duration
	hostRSS     int64
	plugins     map[string]int64 // peak RSS by plugin type
	maxrss      int64
	cpu         float64 // user + system s of the host and the plugins it reaped
	othersCPU   float64 // CPU s other processes used meanwhile
}

func runCLI(b *testing.B, cmd *exec.Cmd) cliRun {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began, busy0 := time.Now(), machineCPU()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pid := cmd.Process.Pid
	r := cliRun{plugins: map[string]int64{}}
	var mu sync.Mutex
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			mu.Lock()
			r.hostRSS = max(r.hostRSS, peakRSS(pid))
			for _, c := range children(pid) {
				typ := strings.TrimPrefix(filepath.Base(cmdline0(c)), plugin.BinaryPrefix)
				if typ != "" {
					r.plugins[typ] = max(r.plugins[typ], peakRSS(c))
				}
			}
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	r.wall = time.Since(began)
	close(done)
	<-sampled
	if err != nil {
		b.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", cmd.Args, err, stdout.String(), stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxrss = ru.Maxrss << 10
	}
	r.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	r.othersCPU = max(0, machineCPU()-busy0-r.cpu)
	r.stdout = stdout.String()
	// FLOW  ROWS  BYTES(n unit)  SECONDS  ROWS/S  RESULT
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 7 && f[0] == "csv_to_parquet" {
			r.rows, _ = strconv.ParseInt(f[1], 10, 64)
			r.flowSeconds, _ = strconv.ParseFloat(f[4], 64)
		}
	}
	if r.flowSeconds == 0 {
		b.Fatalf("no flow line in the CLI's output:\n%s", r.stdout)
	}
	return r
}

// children lists the child processes of pid.
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func cmdline0(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	return string(data)
}
