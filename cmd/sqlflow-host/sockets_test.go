package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// shortTempDir returns a new directory to be a host's TMPDIR: short, as
// Unix socket paths must be (t.TempDir()'s names are long).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sfh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// userSocketDir is where hosts with TMPDIR=tmp keep their run directories.
func userSocketDir(tmp string) string {
	return filepath.Join(tmp, "sqlflow-host-"+strconv.Itoa(os.Geteuid()))
}

// runDirOf returns the run directory of the host with pid, or "".
func runDirOf(t *testing.T, tmp string, pid int) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(userSocketDir(tmp), "run-"+strconv.Itoa(pid)+"-*"))
	if err != nil || len(m) > 1 {
		t.Fatalf("run directories of host %d: %v %v", pid, m, err)
	}
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// sockets returns the Unix sockets under root.
func sockets(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSocket != 0 {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// waitSockets returns once dir holds n Unix sockets (the plugins listen),
// failing t after a minute.
func waitSockets(t *testing.T, dir string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for len(sockets(t, dir)) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("%s holds %v, want %d sockets", dir, sockets(t, dir), n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestPluginSocketsLiveInAPrivateRunDir: plugins' Unix sockets go in a
// 0700 directory of their host's own, not in the system temp directory. A
// SIGKILLed host leaves its directory; the next host removes it at start,
// never the directory of a host still running, and removes its own when it
// exits.
func TestPluginSocketsLiveInAPrivateRunDir(t *testing.T) {
	tmp := shortTempDir(t)
	env := []string{"TMPDIR=" + tmp}
	bin := hostBinary(t)

	// A host runs: its two plugins' sockets are in its run directory.
	killed, _, _ := startSlowRunWith(t, bin, env)
	killedDir := runDirOf(t, tmp, killed.Process.Pid)
	if killedDir == "" {
		t.Fatalf("no run directory for host %d in %s (sockets: %v)", killed.Process.Pid, userSocketDir(tmp), sockets(t, tmp))
	}
	waitSockets(t, killedDir, 2)
	for _, d := range []string{userSocketDir(tmp), killedDir} {
		if info, err := os.Lstat(d); err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v, want a 0700 directory", d, info.Mode(), err)
		}
	}
	for _, s := range sockets(t, tmp) {
		if filepath.Dir(s) != killedDir {
			t.Fatalf("socket %s outside the host's run directory %s", s, killedDir)
		}
	}

	// SIGKILL: the host cannot clean up; its directory stays.
	killed.Process.Kill()
	killed.Wait()
	if _, err := os.Stat(killedDir); err != nil {
		t.Fatalf("the SIGKILLed host's run directory is gone by itself (%v): nothing left to test", err)
	}

	// The next host removes it and makes its own.
	next, _, _ := startSlowRunWith(t, bin, env)
	nextDir := runDirOf(t, tmp, next.Process.Pid)
	if nextDir == "" {
		t.Fatalf("no run directory for host %d", next.Process.Pid)
	}
	waitSockets(t, nextDir, 2)
	if _, err := os.Stat(killedDir); err == nil {
		t.Fatalf("the dead host's run directory %s is still there", killedDir)
	}

	// A third host, run to the end while the second runs, leaves the
	// second's directory alone and removes its own.
	p := write(t, t.TempDir(), "p.yaml", memoryPipeline)
	third := exec.Command(bin, "--plugins-dir", pluginsDir, "run", p)
	third.Env = append(os.Environ(), env...)
	if out, err := third.CombinedOutput(); err != nil {
		t.Fatalf("a run beside a live host: %v\n%s", err, out)
	}
	if got := sockets(t, nextDir); len(got) != 2 {
		t.Fatalf("the live host's sockets after another host ran: %v, want its 2", got)
	}
	if runDirOf(t, tmp, third.Process.Pid) != "" {
		t.Fatal("a host that exited normally left its run directory")
	}

	// The second host, interrupted, exits normally: nothing is left.
	next.Process.Signal(syscall.SIGTERM)
	next.Wait()
	if _, err := os.Stat(nextDir); err == nil {
		t.Fatalf("an interrupted host left its run directory %s", nextDir)
	}
	if s := sockets(t, tmp); len(s) > 0 {
		t.Fatalf("sockets left in the temp directory: %v", s)
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 1 || entries[0].Name() != filepath.Base(userSocketDir(tmp)) {
		t.Fatalf("the temp directory holds %v, want only %s", entries, filepath.Base(userSocketDir(tmp)))
	}
	if rest, _ := os.ReadDir(userSocketDir(tmp)); len(rest) != 0 {
		t.Fatalf("%s holds %v after every host exited", userSocketDir(tmp), rest)
	}
}
