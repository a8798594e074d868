package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/bench/peers/proctree"
)

// measure is one run of one side.
type measure struct {
	proctree.Usage
	rows  int64 // rows the side moved
	bytes int64 // Arrow bytes the host forwarded (sqlflow-host only)
	// serverCPU is the CPU seconds the PostgreSQL server used during the
	// run (pair 3, when the server is on this machine).
	serverCPU float64
}

// runSQLFlow writes a pipeline of one flow from src to dst (connector
// configs, with their "type") into dir and runs it with the real CLI:
// `sqlflow-host run --plugins-dir BIN --progress none --output json
// pipeline.yaml`, in dir. It returns the run's usage and the flow's rows
// and bytes from the JSON summary (docs/cli.md).
func runSQLFlow(ctx context.Context, bins binaries, dir string, src, dst map[string]any, target string) (measure, error) {
	doc := map[string]any{
		"version":      1,
		"sources":      map[string]any{"src": src},
		"destinations": map[string]any{"dst": dst},
		"flows":        []any{map[string]any{"name": "flow", "from": "src", "to": "dst", "target": target}},
	}
	// JSON is YAML: the pipeline file needs no quoting rules of its own.
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return measure{}, err
	}
	pf := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		return measure{}, err
	}
	cmd := exec.Command(bins.host, "run", "--plugins-dir", bins.dir, "--progress", "none", "--output", "json", pf)
	cmd.Dir = dir
	u, err := proctree.Run(ctx, cmd)
	m := measure{Usage: u}
	if err != nil {
		return m, fmt.Errorf("sqlflow-host run: %w\nstdout:\n%s", err, u.Stdout)
	}
	var res struct {
		Status string `json:"status"`
		Flows  []struct {
			Status string `json:"status"`
			Rows   int64  `json:"rows"`
			Bytes  int64  `json:"bytes"`
		} `json:"flows"`
	}
	if err := json.Unmarshal(u.Stdout, &res); err != nil || len(res.Flows) != 1 {
		return m, fmt.Errorf("sqlflow-host run: unreadable summary (%v):\n%s", err, u.Stdout)
	}
	if res.Status != "ok" {
		return m, fmt.Errorf("sqlflow-host run: status %q:\n%s", res.Status, u.Stdout)
	}
	m.rows, m.bytes = res.Flows[0].Rows, res.Flows[0].Bytes
	return m, nil
}

// csvSource is the csv connector reading f. Amounts stay float64
// (infer_decimals: false), as DuckDB's read_csv reads them (DOUBLE), so
// both sides write the same column types.
func csvSource(f input) map[string]any {
	return map[string]any{"type": "csv", "path": f.path, "infer_decimals": false}
}

// runDuckDB runs SQL statements in duckdb-peer with the configured threads;
// the rows are what the last statement reports.
func runDuckDB(ctx context.Context, bins binaries, threads int, stmts ...string) (measure, error) {
	args := append([]string{"-threads", strconv.Itoa(threads)}, stmts...)
	u, err := proctree.Run(ctx, exec.Command(bins.duckdb, args...))
	m := measure{Usage: u}
	if err != nil {
		return m, err
	}
	lines := strings.Fields(string(u.Stdout))
	if len(lines) == 0 {
		return m, fmt.Errorf("duckdb-peer printed no row count")
	}
	m.rows, _ = strconv.ParseInt(lines[len(lines)-1], 10, 64)
	return m, nil
}

// runPsqlCopyOut runs psql's `\copy (query) to 'file'` (text format); the
// rows are psql's "COPY n".
func runPsqlCopyOut(ctx context.Context, url, query, file string) (measure, error) {
	c := fmt.Sprintf(`\copy (%s) to '%s'`, query, strings.ReplaceAll(file, "'", "''"))
	u, err := proctree.Run(ctx, exec.Command("psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", c))
	m := measure{Usage: u}
	if err != nil {
		return m, err
	}
	if n, ok := strings.CutPrefix(strings.TrimSpace(string(u.Stdout)), "COPY "); ok {
		m.rows, _ = strconv.ParseInt(n, 10, 64)
	}
	return m, nil
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
