package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIncrementalThroughCLI runs `sqlflow-host run` (compiled host and
// plugins) on an incremental flow by _last_modified three times: the first
// run reads every object, the second nothing, the third only the object
// added since; the host keeps the cursor (an object with the keys of its
// second) in its state directory between runs.
func TestIncrementalThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host and plugins")
	}
	srv := newServer(t)
	bin := buildBenchBinaries(t, "s3", "csv")
	work := t.TempDir()
	srv.put(t, "landing/a.csv", []byte("id,name\n1,a\n2,b\n"))
	srv.put(t, "landing/b.csv", []byte("id,name\n3,c\n4,d\n5,e\n"))
	pipeline := filepath.Join(work, "pipeline.yaml")
	if err := os.WriteFile(pipeline, []byte(fmt.Sprintf(`version: 1
sources:
  landing:
    type: s3
    bucket: %s
    path_prefix: landing/
    endpoint_url: %s
    access_key_id: ${SQLFLOW_TEST_S3_ACCESS_KEY}
    secret_access_key: ${SQLFLOW_TEST_S3_SECRET_KEY}
destinations:
  out: {type: csv, path: %s}
flows:
  - {name: landed, from: landing, stream: landing, to: out, target: landed.csv, mode: append, incremental: {cursor: _last_modified}}
`, srv.bucket, srv.endpoint, filepath.Join(work, "out"))), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--plugins-dir", filepath.Join(bin, "plugins"),
			"--state-dir", filepath.Join(work, "state"), "run", pipeline)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sqlflow-host run: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == "landed" {
				return f[1]
			}
		}
		t.Fatalf("no summary line for flow landed in:\n%s", out)
		return ""
	}
	if rows := run(); rows != "5" {
		t.Fatalf("first run read %s rows, want 5", rows)
	}
	state, err := os.ReadFile(filepath.Join(work, "state", "pipeline", "landed.json"))
	if err != nil || !strings.Contains(string(state), `"last_modified"`) || !strings.Contains(string(state), `"landing/b.csv"`) {
		t.Fatalf("stored state %s (%v), want a _last_modified cursor with keys", state, err)
	}
	if rows := run(); rows != "0" {
		t.Fatalf("second run read %s rows, want 0", rows)
	}
	srv.put(t, "landing/c.csv", []byte("id,name\n6,f\n7,g\n"))
	if rows := run(); rows != "2" {
		t.Fatalf("third run read %s rows, want the 2 of the new object", rows)
	}
	data, err := os.ReadFile(filepath.Join(work, "out", "landed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines != 8 {
		t.Fatalf("the target holds %d lines, want a header and 7 rows:\n%s", lines, data)
	}
}
