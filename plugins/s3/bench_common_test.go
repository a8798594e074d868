package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// benchParams reads the s3 benchmarks' knobs: SQLFLOW_BENCH_S3_MIB (MiB of
// data, default 1,100) and SQLFLOW_BENCH_ROUNDS (alternating rounds,
// default 3).
func benchParams() (mib int64, rounds int) {
	mib, rounds = 1100, 3
	if s := os.Getenv("SQLFLOW_BENCH_S3_MIB"); s != "" {
		mib, _ = strconv.ParseInt(s, 10, 64)
	}
	if s := os.Getenv("SQLFLOW_BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	return mib, rounds
}

// buildBenchBinaries builds the host and the named plugins (s3, parquet,
// memory, …) into a fresh directory laid out as the host expects (the host
// at its root, plugins under plugins/), concurrently, and returns it.
func buildBenchBinaries(b testing.TB, plugins ...string) string {
	dir := testenv.SafeDir(b) // the host refuses plugins under /tmp
	root, _ := filepath.Abs("../..")
	targets := [][2]string{{"sqlflow-host", "./cmd/sqlflow-host"}}
	for _, p := range plugins {
		targets = append(targets, [2]string{"plugins/sqlflow-plugin-" + p, "./plugins/" + p})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(targets))
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, t[0]), t[1])
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build %s: %v\n%s", t[1], err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "plugins"), 0o755)
	return dir
}

// medianRun returns the run of median elapsed time.
func medianRun[T any](rs []T, elapsed func(T) time.Duration) T {
	s := append([]T(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return elapsed(s[i]) < elapsed(s[j]) })
	return s[len(s)/2]
}

// rssMiB formats a peak RSS in MiB, or "-" when none was seen.
func rssMiB(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n>>20, 10)
}
