package testenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestSafeDir: a fresh 0755 directory whose every parent only root or the
// user may write (never the system temp directory), removed when the test
// ends; $SQLFLOW_TEST_SAFE_DIR is used when set and safe, refused when not.
func TestSafeDir(t *testing.T) {
	var dir string
	t.Run("make", func(t *testing.T) {
		dir = testenv.SafeDir(t)
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() || info.Mode().Perm() != 0o755 {
			t.Fatalf("SafeDir %s: %v, %v", dir, info, err)
		}
		for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
			if st, err := os.Stat(d); err != nil || st.Mode().Perm()&0o022 != 0 {
				t.Fatalf("SafeDir %s: %s is writable by others (%v)", dir, d, err)
			}
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

func TestSafeDirVar(t *testing.T) {
	base := filepath.Join(testenv.SafeDir(t), "mine")
	t.Setenv(testenv.SafeDirVar, base)
	if dir := testenv.SafeDir(t); filepath.Dir(dir) != base {
		t.Fatalf("SafeDir %s is not under %s", dir, base)
	}
	// An unsafe choice is passed over for the next safe place.
	t.Setenv(testenv.SafeDirVar, t.TempDir())
	if dir := testenv.SafeDir(t); filepath.Dir(dir) == os.Getenv(testenv.SafeDirVar) {
		t.Fatalf("SafeDir used the world-writable %s", dir)
	}
}
