package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// childCPU is the CPU time (user + system) of this process's waited-for
// descendants: the workers and, through them, their plugins.
func childCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScaleOutJobs measures jobs per second through submit → worker
// → commit for 1,000 tiny flows (two inline rows, memory → csv; each job
// starts its two plugins) with 1, 2 and 4 worker processes of
// --concurrency 4, alternating the worker counts round after round and
// reporting each count's median. cpu-s is the workers' and plugins' CPU
// time per round (PostgreSQL's own is not counted). Rounds:
// $SQLFLOW_BENCH_ROUNDS (default 3).
func BenchmarkScaleOutJobs(b *testing.B) {
	dsn := testenv.Postgres(b)
	bin := hostBinaryB(b)
	const flows = 1000
	rounds := 3
	if v := os.Getenv("SQLFLOW_BENCH_ROUNDS"); v != "" {
		fmt.Sscan(v, &rounds)
	}
	dir := b.TempDir()
	var y strings.Builder
	y.WriteString("version: 1\nname: bench\nsources:\n  s: {type: memory, rows: [{id: 1}, {id: 2}]}\ndestinations:\n  d: {type: csv, path: out}\nflows:\n")
	for i := range flows {
		fmt.Fprintf(&y, "  - {name: f%04d, from: s, to: d, target: f%04d.csv}\n", i, i)
	}
	p := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(p, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	counts := []int{1, 2, 4}
	rates := map[int][]float64{}
	cpus := map[int][]float64{}
	for round := range rounds {
		for _, n := range counts {
			schema := jobSchema(b, dsn, fmt.Sprintf("so_bench_%d_%d", n, round))
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"submit", p, "--db", dsn, "--db-schema", schema}, &out, &errb); code != 0 {
				b.Fatalf("submit: exit %d\n%s", code, errb.String())
			}
			cpu0 := childCPU()
			start := time.Now()
			var ws []*exec.Cmd
			for i := range n {
				cmd := exec.Command(bin, "--plugins-dir", pluginsDir, "--log-level", "warn", "worker", "--db", dsn, "--db-schema", schema,
					"--concurrency", "4", "--name", fmt.Sprintf("b%d", i))
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				ws = append(ws, cmd)
			}
			for pgValue[int64](b, dsn, "SELECT count(*) FROM "+schema+".river_job WHERE state = 'completed'") < flows {
				if time.Since(start) > 20*time.Minute {
					b.Fatal("1,000 jobs not done in 20 minutes")
				}
				time.Sleep(50 * time.Millisecond)
			}
			wall := time.Since(start)
			for _, w := range ws {
				_ = w.Process.Signal(syscall.SIGTERM)
			}
			for _, w := range ws {
				_ = w.Wait()
			}
			cpu := childCPU() - cpu0
			rates[n] = append(rates[n], flows/wall.Seconds())
			cpus[n] = append(cpus[n], cpu.Seconds())
			b.Logf("round %d, %d workers: %.1f jobs/s (%.1f s wall, %.1f CPU-s)", round+1, n, flows/wall.Seconds(), wall.Seconds(), cpu.Seconds())
		}
	}
	for _, n := range counts {
		b.ReportMetric(medianOf(rates[n]), fmt.Sprintf("jobs/s-%dw", n))
		b.ReportMetric(medianOf(cpus[n]), fmt.Sprintf("cpu-s-%dw", n))
	}
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// hostBinaryB builds the CLI for a benchmark.
func hostBinaryB(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "sqlflow-host")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build host: %v\n%s", err, out)
	}
	return bin
}
