package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// Plugins' Unix sockets live in a private directory per launcher,
//
//	$TMPDIR/sqlflow-host-<uid>/run-<pid>-<start>-<random>
//
// where <pid> is the host's process id and <start> its start time (clock
// ticks since boot, base 36; 0 where unknown), so that a later host can
// tell a dead host's directory from a live one's even when the pid was
// reused. The user directory and each run directory are 0700. A launcher
// removes its run directory on Close; the next launcher to create one
// removes those of hosts that are gone (a SIGKILLed host cannot clean up).

const (
	// runDirPrefix starts every run directory's name.
	runDirPrefix = "run-"
	// maxSocketPath is the longest Unix socket path Linux accepts (108
	// bytes of sun_path with the terminating NUL; macOS allows 104, which
	// the length check below still leaves room for).
	maxSocketPath = 107
	// socketNameLen is the longest name go-plugin gives a socket in the
	// directory: "plugin" and os.CreateTemp's random number (up to 10
	// digits), plus the separating slash.
	socketNameLen = len("/plugin") + 10
)

// userSocketDir returns base/sqlflow-host-<euid>, creating it 0700. An
// existing one must be a real directory owned by the host's user with no
// permission for group or others; else another user could have made it
// to watch or replace the host's sockets, and it is refused.
func userSocketDir(base string) (string, error) {
	euid := os.Geteuid()
	dir := filepath.Join(base, "sqlflow-host-"+strconv.Itoa(euid))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create the plugin socket directory %s: %w", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("plugin socket directory %s: %w", dir, err)
	}
	st, _ := info.Sys().(*syscall.Stat_t)
	if !info.IsDir() || st == nil || int(st.Uid) != euid || info.Mode().Perm()&0o077 != 0 {
		owner := "?"
		if st != nil {
			owner = userName(st.Uid)
		}
		return "", fmt.Errorf("plugin socket directory %s is not private to %s (owner %s, mode %s): another user may have made it; "+
			"remove it (rm -r %s) and run again, or set TMPDIR to a directory of your own",
			dir, userName(uint32(euid)), owner, info.Mode(), dir)
	}
	return dir, nil
}

// newRunDir removes the run directories of hosts that are gone from
// base's user socket directory and creates this host's, 0700.
func newRunDir(base string, logger hclog.Logger) (string, error) {
	parent, err := userSocketDir(base)
	if err != nil {
		return "", err
	}
	removeStaleRunDirs(parent, logger)
	start, _, err := procStart(os.Getpid())
	if err != nil {
		start = 0
	}
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("%s%d-%s-", runDirPrefix, os.Getpid(), strconv.FormatUint(start, 36)))
	if err != nil {
		return "", fmt.Errorf("create the plugin socket directory: %w", err)
	}
	if len(dir)+socketNameLen > maxSocketPath {
		os.Remove(dir)
		return "", fmt.Errorf("plugin socket directory %s is too long for a Unix socket path (%d bytes, at most %d): "+
			"set TMPDIR to a shorter directory", dir, len(dir)+socketNameLen, maxSocketPath)
	}
	return dir, nil
}

// removeStaleRunDirs removes the run directories in parent whose host is
// gone: no process has its pid, the process is a zombie, or it started at
// another time than recorded (its pid was reused). A live host's directory
// is never touched; what cannot be parsed is left alone.
func removeStaleRunDirs(parent string, logger hclog.Logger) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		logger.Debug("list plugin socket directories", "dir", parent, "error", err)
		return
	}
	for _, e := range entries {
		pid, start, ok := parseRunDir(e.Name())
		if !ok || !e.IsDir() || hostAlive(pid, start) {
			continue
		}
		path := filepath.Join(parent, e.Name())
		if err := os.RemoveAll(path); err != nil {
			logger.Warn("remove the plugin socket directory of a host that is gone", "dir", path, "error", err)
			continue
		}
		logger.Debug("removed the plugin socket directory of a host that is gone", "dir", path, "pid", pid)
	}
}

// parseRunDir reads the pid and start time from a run directory's name.
func parseRunDir(name string) (pid int, start uint64, ok bool) {
	rest, found := strings.CutPrefix(name, runDirPrefix)
	if !found {
		return 0, 0, false
	}
	f := strings.Split(rest, "-")
	if len(f) != 3 {
		return 0, 0, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0, 0, false
	}
	start, err = strconv.ParseUint(f[1], 36, 64)
	if err != nil {
		return 0, 0, false
	}
	return pid, start, true
}

// hostAlive reports whether the process pid is running and, when start is
// known (not 0) and can be read, started at start.
func hostAlive(pid int, start uint64) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	got, zombie, err := procStart(pid)
	switch {
	case errors.Is(err, errUnsupported):
		return true // only the signal probe is available
	case err != nil:
		return false // gone since the probe
	case zombie:
		return false
	}
	return start == 0 || got == start
}

// errUnsupported is returned by procStart where the process table cannot
// be read.
var errUnsupported = errors.New("process start times are not available on this system")

// socketEnv returns env, without any PLUGIN_UNIX_SOCKET_DIR of its own,
// plus PLUGIN_UNIX_SOCKET_DIR=dir: the variable go-plugin's server reads to
// pick the directory of its socket (server.go unixSocketConfigFromEnv).
func socketEnv(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, goplugin.EnvUnixSocketDir+"=") {
			out = append(out, kv)
		}
	}
	return append(out, goplugin.EnvUnixSocketDir+"="+dir)
}
