//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkE2EResilienceOverhead moves SQLFLOW_BENCH_MEM_ROWS (default 10
// million) generated rows memory → memory through real plugin processes,
// with resilience off and on (every policy of the default profile on both
// connectors, plus a limiter that never makes a call wait), alternating
// SQLFLOW_BENCH_REPS (default 3) runs of each, and reports the median
// throughput of each and the difference, and the median CPU time of the
// host process per run (where the policies run; the plugins' work does not
// change), which a busy machine disturbs less than wall time. It takes
// minutes, so it runs only with SQLFLOW_BENCH_E2E=1:
//
//	SQLFLOW_BENCH_E2E=1 go test -run '^$' -bench E2EResilienceOverhead -benchtime 1x -timeout 30m ./cmd/sqlflow-host
func BenchmarkE2EResilienceOverhead(b *testing.B) {
	if os.Getenv("SQLFLOW_BENCH_E2E") == "" {
		b.Skip("set SQLFLOW_BENCH_E2E=1 to run the end-to-end benchmarks")
	}
	rows := envInt(b, "SQLFLOW_BENCH_MEM_ROWS", 10_000_000)
	reps := envInt(b, "SQLFLOW_BENCH_REPS", 3)
	const on = `
    resilience:
      retry: {max_attempts: 3}
      circuit_breaker: {failure_threshold: 5}
      rate_limit: {max_requests_per_minute: 6000000, burst_size: 1000}`
	pipeline := func(res string) string {
		return fmt.Sprintf(`version: 1
sources:
  gen:
    type: memory
    table_name: events
    generate: {rows: %d, seed: 1}%s
destinations:
  sink:
    type: memory%s
flows:
  - {name: events, from: gen, to: sink, mode: replace}
`, rows, res, res)
	}
	dir := b.TempDir()
	paths := map[string]string{
		"off": write2(b, dir, "off.yaml", pipeline("\n    resilience: false")),
		"on":  write2(b, dir, "on.yaml", pipeline(on)),
	}
	for _, pageRows := range []string{"0", "10000"} {
		b.Run("page-rows="+pageRows, func(b *testing.B) {
			for b.Loop() {
				rates := map[string][]float64{}
				cpu := map[string][]float64{}
				for range reps {
					for _, side := range []string{"off", "on"} {
						before := hostCPU()
						rates[side] = append(rates[side], flowRate(b, paths[side], pageRows))
						cpu[side] = append(cpu[side], (hostCPU() - before).Seconds())
					}
				}
				off, on := median(rates["off"]), median(rates["on"])
				b.ReportMetric(off, "rows/s-off")
				b.ReportMetric(on, "rows/s-on")
				b.ReportMetric(100*(off-on)/off, "%slower")
				b.ReportMetric(median(cpu["off"]), "host-cpu-s-off")
				b.ReportMetric(median(cpu["on"]), "host-cpu-s-on")
				b.Logf("rows/s off %.0f, on %.0f; host CPU s off %.2f, on %.2f", rates["off"], rates["on"], cpu["off"], cpu["on"])
			}
		})
	}
}

var secondsRe = regexp.MustCompile(`(?m)^events\s+(\d+)\s+\S+ \S+\s+([0-9.]+)\s+\d+\s+ok`)

// flowRate runs a pipeline and returns its flow's rows per second (the
// flow's own time, plugin start-up excluded).
func flowRate(b *testing.B, path, pageRows string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"--plugins-dir", pluginsDir, "run", "--page-rows", pageRows, path}, &out, &errb)
	m := secondsRe.FindStringSubmatch(out.String())
	if code != 0 || m == nil {
		b.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	s, _ := strconv.ParseFloat(m[2], 64)
	return n / s
}

// hostCPU returns this process's user and system CPU time so far.
func hostCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func write2(b *testing.B, dir, name, content string) string {
	p := dir + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}
