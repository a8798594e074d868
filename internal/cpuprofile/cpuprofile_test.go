package cpuprofile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	t.Setenv(EnvVar, "")
	stop, err := Start("x")
	if err != nil {
		t.Fatal(err)
	}
	stop() // unset: nothing to end

	dir := t.TempDir()
	t.Setenv(EnvVar, dir)
	stop, err = Start("sqlflow-test")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	files, _ := filepath.Glob(filepath.Join(dir, "sqlflow-test-*.prof"))
	if len(files) != 1 {
		t.Fatalf("profiles written: %v", files)
	}
	if st, err := os.Stat(files[0]); err != nil || st.Size() == 0 {
		t.Fatalf("profile %s: %v (size %v)", files[0], err, st)
	}

	t.Setenv(EnvVar, filepath.Join(dir, "missing"))
	if _, err := Start("y"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Start into a missing directory: %v", err)
	}
}
