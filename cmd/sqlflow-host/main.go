// Command sqlflow-host moves data between connectors described in a
// pipeline file. Every connector runs as its own plugin process.
//
// Usage:
//
//	sqlflow-host run FILE            run every flow of the pipeline
//	sqlflow-host validate FILE       check the file and each connector's keys
//	sqlflow-host check FILE [NAME]   reach each connector's system
//	sqlflow-host discover FILE SOURCE
//	sqlflow-host preview FILE SOURCE STREAM [--limit N]
//	sqlflow-host plugins list | lock
//	sqlflow-host version
//
// Exit status: 0 on success, 1 when a run or check fails, 2 for usage or
// configuration errors.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the host to
// $SQLFLOW_CPUPROFILE_DIR/sqlflow-host-<pid>.prof when that variable is
// set; each plugin writes its own beside it (docs/benchmarks.md,
// "Profiling"). The returned function ends it.
func startCPUProfile() (stop func()) {
	dir := os.Getenv("SQLFLOW_CPUPROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	path := filepath.Join(dir, fmt.Sprintf("sqlflow-host-%d.prof", os.Getpid()))
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqlflow-host: no CPU profile at %s: %v\n", path, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
