package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SafeDirBase is the directory, at the module's root, under which SafeDir
// makes its directories. Git ignores it.
const SafeDirBase = ".testtmp"

// SafeDir returns a new empty directory (mode 0755), removed when t ends,
// for plugins and plugins.lock. The host refuses a plugin when it or any
// directory above it may be written by a user other than root or the
// host's (host/plugin.Perms), and t.TempDir() lives under the
// world-writable /tmp; SafeDir's directory lives under SafeDirBase at the
// repository's root instead, so it passes the check wherever the
// repository's own parents do (a checkout under a group-writable
// directory fails the plugin tests, naming that directory).
func SafeDir(t testing.TB) string {
	t.Helper()
	dir, err := MkdirSafe("plugins-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// MkdirSafe is SafeDir for code that has no testing.TB (a TestMain): it
// makes a directory whose name starts with pattern under SafeDirBase and
// returns its path; the caller removes it.
func MkdirSafe(pattern string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("testenv: a directory for plugins: %w", err)
	}
	base := filepath.Join(root, SafeDirBase)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("testenv: a directory for plugins: %w", err)
	}
	// MkdirAll's mode is subject to the umask; the check is not.
	if err := os.Chmod(base, 0o755); err != nil {
		return "", fmt.Errorf("testenv: a directory for plugins: %w", err)
	}
	dir, err := os.MkdirTemp(base, pattern)
	if err != nil {
		return "", fmt.Errorf("testenv: a directory for plugins: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("testenv: a directory for plugins: %w", err)
	}
	return dir, nil
}

// moduleRoot returns the directory of the go.mod above this source file,
// else above the working directory (a -trimpath build).
func moduleRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, d := range starts {
		for {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return d, nil
			}
			up := filepath.Dir(d)
			if up == d {
				break
			}
			d = up
		}
	}
	return "", errors.New("no go.mod above this package or the working directory")
}
