package sdk

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// startCPUProfile profiles the plugin process into
// $SQLFLOW_CPUPROFILE_DIR/<name>-<pid>.prof when the host passes that
// variable (docs/benchmarks.md, "Profiling"); without it it does nothing.
// The returned stop is never nil.
func startCPUProfile(name string) (stop func(), err error) {
	stop = func() {}
	dir := os.Getenv("SQLFLOW_CPUPROFILE_DIR")
	if dir == "" {
		return stop, nil
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.prof", name, os.Getpid())))
	if err != nil {
		return stop, fmt.Errorf("cpu profile: %w", err)
	}
	if err = pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return stop, fmt.Errorf("cpu profile %s: %w", f.Name(), err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
