package nodesource

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestHostRun runs `sqlflow-host run` on a pipeline whose source is this
// plugin, installed in a plugins directory beside the csv plugin, and
// checks the rows in the csv file it writes.
func TestHostRun(t *testing.T) {
	script := RequireNode(t)
	node, _ := exec.LookPath("node")
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The host refuses plugins under a directory others may write to, such
	// as /tmp: SafeDir is not one.
	plugins := testenv.SafeDir(t)
	host := filepath.Join(plugins, "..", filepath.Base(plugins)+"-sqlflow-host")
	t.Cleanup(func() { os.Remove(host) })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	for pkg, out := range map[string]string{
		"./cmd/sqlflow-host": host,
		"./plugins/csv":      filepath.Join(plugins, "sqlflow-plugin-csv"),
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	// Installing the plugin: an executable named sqlflow-plugin-<type> in
	// the plugins directory that runs the script where its node_modules are.
	for _, p := range []string{node, script} {
		if strings.ContainsRune(p, '\'') {
			t.Skipf("the path %s holds a quote, which the wrapper script does not escape", p)
		}
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec '%s' '%s' \"$@\"\n", node, script)
	if err := os.WriteFile(filepath.Join(plugins, Binary), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pipeline := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(pipeline, []byte(`version: 1
name: node_numbers
sources:
  numbers:
    type: node-source
    rows: 25
    page_size: 10
destinations:
  files:
    type: csv
    path: out
flows:
  - {name: numbers_to_csv, from: numbers, stream: numbers, to: files, target: numbers.csv, mode: replace}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, host, "--plugins-dir", plugins, "run", pipeline)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sqlflow-host run: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}

	f, err := os.Open(filepath.Join(dir, "out", "numbers.csv"))
	if err != nil {
		t.Fatalf("the run wrote no csv: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 26 {
		t.Fatalf("numbers.csv has %d lines, want a header and 25 rows:\n%v", len(records), records)
	}
	if got := strings.Join(records[0], ","); got != "id,label,amount" {
		t.Errorf("numbers.csv's header is %q, want id,label,amount", got)
	}
	for i, rec := range records[1:] {
		id := i + 1
		label := fmt.Sprintf("row %d", id)
		if id%7 == 0 {
			label = "" // null
		}
		want := []string{fmt.Sprint(id), label, fmt.Sprint(float64(id) * 1.5)}
		if strings.Join(rec, ",") != strings.Join(want, ",") {
			t.Errorf("numbers.csv row %d is %q, want %q", id, rec, want)
		}
	}
}
