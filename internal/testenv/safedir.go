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
// makes its directories when the user's cache directory is not safe. Git
// ignores it.
const SafeDirBase = ".testtmp"

// SafeDirVar names a directory to make SafeDir's directories in, taking
// precedence over the default places.
const SafeDirVar = "SQLFLOW_TEST_SAFE_DIR"

// SafeDir returns a new empty directory (mode 0755), removed when t ends,
// for plugins and plugins.lock. The host refuses a plugin when it or any
// directory above it may be written by a user other than root or the
// host's (host/plugin.Perms), and t.TempDir() lives under the
// world-writable /tmp. SafeDir's directory lives in the first of these
// whose every directory up to the root is owned by root or the user and
// not writable by others: $SQLFLOW_TEST_SAFE_DIR, sqlflow-host-test in the
// user's cache directory ($HOME/.cache), SafeDirBase at the repository's
// root. So the tests pass wherever the repository is checked out, /tmp
// included.
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
	var bases []string
	if v := os.Getenv(SafeDirVar); v != "" {
		bases = append(bases, v)
	}
	if c, err := os.UserCacheDir(); err == nil {
		bases = append(bases, filepath.Join(c, "sqlflow-host-test"))
	}
	if root, err := moduleRoot(); err == nil {
		bases = append(bases, filepath.Join(root, SafeDirBase))
	}
	var tried []string
	for _, base := range bases {
		if err := os.MkdirAll(base, 0o755); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		// MkdirAll's mode is subject to the umask; the check is not.
		if err := os.Chmod(base, 0o755); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		if err := safeChain(base); err != nil {
			tried = append(tried, err.Error())
			continue
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
	return "", fmt.Errorf("testenv: no safe directory for plugins (set %s to a directory only you can write, with such parents): %v", SafeDirVar, tried)
}

// safeChain reports why dir or a directory above it may be written by
// another user (not root or us, or writable by group or others), as the
// host's plugin check would refuse it.
func safeChain(dir string) error {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%s is writable by group or others", d)
		}
		if uid, ok := ownerOf(st); ok && uid != 0 && uid != os.Geteuid() {
			return fmt.Errorf("%s is owned by uid %d", d, uid)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
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
