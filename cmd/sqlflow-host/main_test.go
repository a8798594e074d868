package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// pluginsDir holds the plugins built once for the whole package.
var pluginsDir string

// repoRoot is the repository's top directory.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, _ := os.Getwd()
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	// Not os.MkdirTemp: the host refuses plugins under the world-writable
	// /tmp.
	dir, err := testenv.MkdirSafe("sqlflow-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	mains, _ := filepath.Glob(filepath.Join(repoRoot, "plugins", "*", "main.go"))
	for _, m := range mains {
		typ := filepath.Base(filepath.Dir(m))
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "sqlflow-plugin-"+typ), "./plugins/"+typ)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build plugin %s: %v\n%s", typ, err, out)
			return 1
		}
	}
	pluginsDir = dir
	return m.Run()
}

// result is one CLI invocation's outcome.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs the command line in-process with the test plugins directory.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	full := append([]string{"--plugins-dir", pluginsDir}, args...)
	code := run(ctx, full, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// write creates a file under dir and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func expect(t *testing.T, r result, code int, parts ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	all := r.stdout + r.stderr
	for _, p := range parts {
		if !strings.Contains(all, p) {
			t.Fatalf("output lacks %q:\n%s", p, r)
		}
	}
}

func havePlugin(t *testing.T, typ string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pluginsDir, "sqlflow-plugin-"+typ)); err != nil {
		t.Fatalf("plugin %s was not built", typ)
	}
}
