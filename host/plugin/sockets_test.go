package plugin_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// shortTMPDIR points TMPDIR at a new, short directory for t (Unix socket
// paths are short; t.TempDir()'s are long) and returns it.
func shortTMPDIR(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sfh")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("TMPDIR", dir)
	return dir
}

// socketsUnder returns the Unix sockets under root.
func socketsUnder(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSocket != 0 {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestSocketInPrivateRunDir: a plugin's Unix socket is made in its
// launcher's run directory, $TMPDIR/sqlflow-host-<uid>/run-<pid>-…, both
// 0700, even when the host's environment names another socket directory;
// Close removes the run directory.
func TestSocketInPrivateRunDir(t *testing.T) {
	tmp := shortTMPDIR(t)
	elsewhere := t.TempDir()
	t.Setenv("PLUGIN_UNIX_SOCKET_DIR", elsewhere)
	dir := pluginsDir(t)
	build(t, dir.Path, "okplugin", "ok")
	l, err := launcher(t, dir)
	must(t, err)
	p, err := startWith(t, l, "ok")
	must(t, err)

	run := l.SocketDir()
	user := filepath.Join(tmp, "sqlflow-host-"+strconv.Itoa(os.Geteuid()))
	if filepath.Dir(run) != user || !strings.HasPrefix(filepath.Base(run), "run-"+strconv.Itoa(os.Getpid())+"-") {
		t.Fatalf("socket directory %q, want %s/run-%d-…", run, user, os.Getpid())
	}
	for _, d := range []string{user, run} {
		info, err := os.Lstat(d)
		if err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v, want a 0700 directory", d, info, err)
		}
	}
	if got := socketsUnder(tmp); len(got) != 1 || filepath.Dir(got[0]) != run {
		t.Fatalf("sockets under TMPDIR: %v, want one in %s", got, run)
	}
	if got := socketsUnder(elsewhere); len(got) != 0 {
		t.Fatalf("the host's PLUGIN_UNIX_SOCKET_DIR was used: %v", got)
	}

	p.Kill()
	must(t, l.Close())
	if _, err := os.Stat(run); err == nil {
		t.Fatalf("Close left %s", run)
	}
	if got := socketsUnder(tmp); len(got) != 0 {
		t.Fatalf("sockets left: %v", got)
	}
}

// TestForeignSocketDirRefused: a sqlflow-host-<uid> directory that is not
// private to the host's user (made by someone else, open to others, or a
// symbolic link) is refused, not used: another user could watch or
// replace the sockets in it.
func TestForeignSocketDirRefused(t *testing.T) {
	tests := []struct {
		name  string
		other bool
		make  func(t *testing.T, path string)
	}{
		{"open to others", false, func(t *testing.T, path string) { mkdir(t, path, 0o777) }},
		{"readable by group", false, func(t *testing.T, path string) { mkdir(t, path, 0o750) }},
		{"a symbolic link", false, func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "target")
			mkdir(t, target, 0o700)
			must(t, os.Symlink(target, path))
		}},
		{"owned by another user", true, func(t *testing.T, path string) {
			mkdir(t, path, 0o700)
			must(t, os.Chown(path, nobody, nobody))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.other {
				needRoot(t)
			}
			tmp := shortTMPDIR(t)
			path := filepath.Join(tmp, "sqlflow-host-"+strconv.Itoa(os.Geteuid()))
			tt.make(t, path)
			dir := pluginsDir(t)
			script(t, dir.Path, "p", "exit 0")
			_, err := start(t, dir, "p")
			wantErr(t, err, "plugin socket directory "+path+" is not private", "rm -r "+path)
		})
	}
}
