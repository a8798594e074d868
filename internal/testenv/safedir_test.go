package testenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestSafeDir: a fresh 0755 directory under the module's .testtmp, not
// under the system temp directory, removed when the test ends.
func TestSafeDir(t *testing.T) {
	var dir string
	t.Run("make", func(t *testing.T) {
		dir = testenv.SafeDir(t)
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() || info.Mode().Perm() != 0o755 {
			t.Fatalf("SafeDir %s: %v, %v", dir, info, err)
		}
		if filepath.Base(filepath.Dir(dir)) != testenv.SafeDirBase {
			t.Fatalf("SafeDir %s is not under %s", dir, testenv.SafeDirBase)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(dir)), "go.mod")); err != nil {
			t.Fatalf("SafeDir %s is not at the module's root: %v", dir, err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Fatalf("SafeDir %s is not empty", dir)
		}
	})
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("SafeDir %s outlived its test", dir)
	}
}
