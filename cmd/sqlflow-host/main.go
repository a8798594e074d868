// Command sqlflow-host moves data between connectors described in a
// pipeline file. Every connector runs as its own plugin process.
//
// Usage:
//
//	sqlflow-host run FILE            run every flow of the pipeline
//	sqlflow-host validate FILE       check the file and each connector's keys
//	sqlflow-host check FILE [NAME]   reach each connector's system
//	sqlflow-host discover FILE SOURCE
//	sqlflow-host preview FILE SOURCE [STREAM] [--limit N]
//	sqlflow-host plugins list | lock
//	sqlflow-host webhooks serve FILE [--addr HOST:PORT] | reconcile FILE | compact FILE
//	sqlflow-host version (or --version)
//
// --output json makes run, validate, check, discover, resilience, plugins
// list, state list and version print one JSON document (docs/cli.md).
//
// Exit status: 0 on success, 1 when a run or check fails, 2 for usage or
// configuration errors.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sqlflow/sqlflow-host/internal/cpuprofile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile, err := cpuprofile.Start("sqlflow-host")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sqlflow-host:", err)
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}
