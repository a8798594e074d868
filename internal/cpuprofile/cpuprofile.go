// Package cpuprofile writes a CPU profile of the running process when the
// SQLFLOW_CPUPROFILE_DIR environment variable names a directory: the host
// calls Start and every plugin built with sdk.Serve does the same (the SDK
// has its own copy of the few lines, in its own module), so one run leaves one
// profile per process (docs/benchmarks.md, "Profiling").
package cpuprofile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// EnvVar is the environment variable naming the directory profiles go to.
const EnvVar = "SQLFLOW_CPUPROFILE_DIR"

// Start begins profiling into $SQLFLOW_CPUPROFILE_DIR/<name>-<pid>.prof
// and returns the function that ends it and closes the file. When the
// variable is unset it does nothing; stop is never nil.
func Start(name string) (stop func(), err error) {
	dir := os.Getenv(EnvVar)
	if dir == "" {
		return func() {}, nil
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.prof", name, os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		return func() {}, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
