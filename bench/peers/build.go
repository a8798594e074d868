package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// binaries are the programs the sides run.
type binaries struct {
	dir    string // the host, its plugins (sqlflow-plugin-<type>) and duckdb-peer
	host   string
	duckdb string
}

// plugins are the connectors the flows use.
var plugins = []string{"csv", "parquet", "memory", "postgres", "s3"}

// build compiles the host and the plugins from the checkout, and
// duckdb-peer from this module, into a new directory that the host accepts
// plugins from: not under the world-writable /tmp (host/plugin refuses a
// plugin any user could replace), so under the user's cache directory,
// else under the checkout's .testtmp (which git ignores).
func build(ctx context.Context, repo string) (binaries, error) {
	var dir string
	var tried []string
	bases := []string{}
	if c, err := os.UserCacheDir(); err == nil {
		bases = append(bases, filepath.Join(c, "sqlflow-bench-peers"))
	}
	bases = append(bases, filepath.Join(repo, ".testtmp"))
	for _, base := range bases {
		if err := os.MkdirAll(base, 0o755); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		d, err := os.MkdirTemp(base, "bin-")
		if err == nil {
			err = os.Chmod(d, 0o755)
		}
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		dir = d
		break
	}
	if dir == "" {
		return binaries{}, fmt.Errorf("no directory for the binaries: %s", strings.Join(tried, "; "))
	}
	b := binaries{dir: dir, host: filepath.Join(dir, "sqlflow-host"), duckdb: filepath.Join(dir, "duckdb-peer")}
	goBuild := func(wd, out, pkg string) error {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = wd
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s (in %s): %w\n%s", pkg, wd, err, out)
		}
		return nil
	}
	logf("building sqlflow-host and plugins %s from %s into %s", strings.Join(plugins, ", "), repo, dir)
	if err := goBuild(repo, b.host, "./cmd/sqlflow-host"); err != nil {
		return b, err
	}
	for _, p := range plugins {
		if err := goBuild(repo, filepath.Join(dir, "sqlflow-plugin-"+p), "./plugins/"+p); err != nil {
			return b, err
		}
	}
	logf("building duckdb-peer (duckdb-go, cgo; about a minute the first time)")
	if err := goBuild(filepath.Join(repo, "bench", "peers"), b.duckdb, "./cmd/duckdb-peer"); err != nil {
		return b, err
	}
	return b, nil
}

// logf writes a progress line on stderr; the tables go to stdout.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-peers: "+format+"\n", args...)
}
