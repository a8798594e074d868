package plugin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestRemoveStaleRunDirs: a new run directory's launcher removes those of
// hosts that are gone (no such process, a zombie, or a pid reused by a
// process that started at another time) and keeps those of live hosts and
// anything it cannot parse.
func TestRemoveStaleRunDirs(t *testing.T) {
	if _, _, err := procStart(os.Getpid()); err != nil {
		t.Skipf("skipped: process start times are not readable here: %v", err)
	}
	base, err := os.MkdirTemp("", "sfh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	parent, err := userSocketDir(base)
	if err != nil {
		t.Fatal(err)
	}

	// A process that has exited and been reaped.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	// A live process, and a zombie: exited, not yet reaped.
	live := exec.Command("sleep", "600")
	zombie := exec.Command("true")
	for _, c := range []*exec.Cmd{live, zombie} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { live.Process.Kill(); live.Wait(); zombie.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, z, err := procStart(zombie.Process.Pid); err == nil && z {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the child never became a zombie")
		case <-time.After(10 * time.Millisecond):
		}
	}
	liveStart, _, err := procStart(live.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	myStart, _, _ := procStart(os.Getpid())
	b36 := func(n uint64) string { return strconv.FormatUint(n, 36) }

	dirs := map[string]bool{ // name: kept
		fmt.Sprintf("run-%d-0-1", dead.Process.Pid):                    false,
		fmt.Sprintf("run-%d-%s-2", zombie.Process.Pid, b36(1)):         false,
		fmt.Sprintf("run-%d-%s-3", live.Process.Pid, b36(liveStart+1)): false, // pid reused
		fmt.Sprintf("run-%d-%s-4", live.Process.Pid, b36(liveStart)):   true,
		fmt.Sprintf("run-%d-0-5", live.Process.Pid):                    true, // start unknown
		fmt.Sprintf("run-%d-%s-6", os.Getpid(), b36(myStart)):          true,
		"run-x-y-z":   true,
		"not-a-run-1": true,
	}
	for name := range dirs {
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		// A socket a killed plugin left behind (a plain file will do).
		if err := os.WriteFile(filepath.Join(d, "plugin123"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	mine, err := newRunDir(base, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	for name, kept := range dirs {
		_, err := os.Stat(filepath.Join(parent, name))
		if kept != (err == nil) {
			t.Errorf("%s: kept %v, want %v", name, err == nil, kept)
		}
	}
	pid, start, ok := parseRunDir(filepath.Base(mine))
	if !ok || pid != os.Getpid() || start != myStart || filepath.Dir(mine) != parent {
		t.Fatalf("new run directory %s: pid %d start %d (%v), want pid %d start %d under %s", mine, pid, start, ok, os.Getpid(), myStart, parent)
	}
	if info, err := os.Stat(mine); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("new run directory %s: %v %v, want 0700", mine, info, err)
	}
}

// TestRunDirTooLong: a TMPDIR too long for a Unix socket path is reported
// with the fix, not left to fail as "bind: invalid argument".
func TestRunDirTooLong(t *testing.T) {
	base := filepath.Join(t.TempDir(), "a-very-long-directory-name-for-unix-sockets-that-will-not-fit-0123456789")
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := newRunDir(base, hclog.NewNullLogger())
	if err == nil || !contains(err.Error(), "too long for a Unix socket path", "set TMPDIR to a shorter directory") {
		t.Fatalf("err = %v", err)
	}
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
