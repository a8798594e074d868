package plugin_test

import (
	"bytes"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// nobody is the user the refusal tests hand files to: another user than
// the one running the tests (root, in CI).
const nobody = 65534

// needRoot skips t unless it runs as root: only root can hand a file to
// another user.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: handing a file to another user (chown) needs root; CI runs the tests as root")
	}
}

// tree is a plugins directory at root/parent/plugins holding the script
// plugin "p", every part of it safe until a test case spoils one.
type tree struct {
	root, parent, plugins, bin string
}

func newTree(t *testing.T) tree {
	t.Helper()
	root := testenv.SafeDir(t)
	tr := tree{root: root, parent: filepath.Join(root, "parent")}
	tr.plugins = filepath.Join(tr.parent, "plugins")
	if err := os.MkdirAll(tr.plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	script(t, tr.plugins, "p", "exit 0")
	tr.bin = filepath.Join(tr.plugins, plugin.BinaryPrefix+"p")
	return tr
}

func (tr tree) dir() plugin.Dir { return plugin.Dir{Path: tr.plugins, From: "test"} }

// must fails t on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mkdir makes dir with exactly mode (no umask).
func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.Chmod(dir, mode))
}

// realBinary writes an executable script at path and makes the tree's
// plugin a symbolic link to link (which leads to path).
func (tr tree) linkPlugin(t *testing.T, path, link string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	must(t, os.Chmod(path, 0o755))
	must(t, os.Remove(tr.bin))
	must(t, os.Symlink(link, tr.bin))
}

// wantUnsafe checks that err is an *UnsafeError whose problems include
// path, and that its message names the path, its owner and mode, and
// every part of want (the reason, the fix).
func wantUnsafe(t *testing.T, err error, path string, want ...string) *plugin.UnsafeError {
	t.Helper()
	var ue *plugin.UnsafeError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want an *UnsafeError naming %s", err, path)
	}
	info, serr := os.Lstat(path)
	must(t, serr)
	owner := strconv.Itoa(int(info.Sys().(*syscall.Stat_t).Uid))
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	want = append(want, path+" (owner "+owner+", mode "+info.Mode().String()+")")
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error lacks %q:\n%v", w, err)
		}
	}
	return ue
}

// TestUnsafePluginRefused: a plugin is refused when another user could
// replace it: the binary, a symbolic link's target (every hop), or a
// directory above any of them is owned by another user than root and the
// host's, or writable by group or others. Each refusal names the path,
// its owner and mode and the fix; with Perms.Insecure the same problems
// are logged as warnings, one each, and the plugin is let through.
func TestUnsafePluginRefused(t *testing.T) {
	tests := []struct {
		name  string
		other bool // hands a file to another user: root only
		spoil func(t *testing.T, tr tree) string
		want  []string
	}{
		{
			name:  "binary writable by group",
			spoil: func(t *testing.T, tr tree) string { must(t, os.Chmod(tr.bin, 0o775)); return tr.bin },
			want:  []string{"is writable by group;", "chmod g-w "},
		},
		{
			name:  "binary writable by anyone",
			spoil: func(t *testing.T, tr tree) string { must(t, os.Chmod(tr.bin, 0o777)); return tr.bin },
			want:  []string{"is writable by group and others", "chmod go-w "},
		},
		{
			name:  "plugins directory writable by anyone",
			spoil: func(t *testing.T, tr tree) string { must(t, os.Chmod(tr.plugins, 0o777)); return tr.plugins },
			want:  []string{"chmod go-w "},
		},
		{
			name:  "parent of the plugins directory writable by others",
			spoil: func(t *testing.T, tr tree) string { must(t, os.Chmod(tr.parent, 0o757)); return tr.parent },
			want:  []string{"is writable by others", "chmod o-w ", "or move the plugins"},
		},
		{
			name: "plugins directory under a shared sticky directory like /tmp",
			spoil: func(t *testing.T, tr tree) string {
				must(t, os.Chmod(tr.parent, os.ModeSticky|0o777))
				return tr.parent
			},
			want: []string{"it is a shared directory: move the plugins"},
		},
		{
			name: "symbolic link into a world-writable directory",
			spoil: func(t *testing.T, tr tree) string {
				open := filepath.Join(tr.root, "open")
				mkdir(t, open, 0o777)
				tr.linkPlugin(t, filepath.Join(open, "real"), filepath.Join(open, "real"))
				return open
			},
			want: []string{"chmod go-w "},
		},
		{
			name: "relative link to a link into a world-writable directory",
			spoil: func(t *testing.T, tr tree) string {
				open := filepath.Join(tr.root, "open")
				mkdir(t, open, 0o777)
				must(t, os.Symlink("open/real", filepath.Join(tr.root, "hop")))
				tr.linkPlugin(t, filepath.Join(open, "real"), "../../hop")
				return open
			},
			want: []string{"chmod go-w "},
		},
		{
			name: "symbolic link to a group-writable binary",
			spoil: func(t *testing.T, tr tree) string {
				safe := filepath.Join(tr.root, "safe")
				mkdir(t, safe, 0o755)
				real := filepath.Join(safe, "real")
				tr.linkPlugin(t, real, real)
				must(t, os.Chmod(real, 0o775))
				return real
			},
			want: []string{"chmod g-w "},
		},
		{
			name:  "binary owned by another user",
			other: true,
			spoil: func(t *testing.T, tr tree) string { must(t, os.Chown(tr.bin, nobody, nobody)); return tr.bin },
			want:  []string{"not root", "chown root "},
		},
		{
			name:  "plugins directory owned by another user",
			other: true,
			spoil: func(t *testing.T, tr tree) string { must(t, os.Chown(tr.plugins, nobody, nobody)); return tr.plugins },
			want:  []string{"not root", "chown root "},
		},
		{
			name:  "symbolic link into another user's directory",
			other: true,
			spoil: func(t *testing.T, tr tree) string {
				theirs := filepath.Join(tr.root, "theirs")
				mkdir(t, theirs, 0o755)
				tr.linkPlugin(t, filepath.Join(theirs, "real"), filepath.Join(theirs, "real"))
				must(t, os.Chown(theirs, nobody, nobody))
				return theirs
			},
			want: []string{"not root", "chown root "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.other {
				needRoot(t)
			}
			tr := newTree(t)
			if _, err := start(t, tr.dir(), "p"); err == nil || errors.As(err, new(*plugin.UnsafeError)) {
				t.Fatalf("the safe tree is refused or its script plugin started: %v", err)
			}
			path := tt.spoil(t, tr)
			_, err := start(t, tr.dir(), "p")
			ue := wantUnsafe(t, err, path, append([]string{"refusing plugin p"}, tt.want...)...)

			// --insecure-plugin-perms: one warning per problem, then on.
			var logs bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})
			bin, err := plugin.Find(tr.dir(), "p")
			must(t, err)
			if err := plugin.CheckPermissions(tr.dir(), bin, plugin.Perms{Insecure: true, Logger: log}); err != nil {
				t.Fatalf("insecure perms still refuse: %v", err)
			}
			if n := strings.Count(logs.String(), "[WARN]"); n != len(ue.Problems) {
				t.Fatalf("%d warnings for %d problems:\n%s", n, len(ue.Problems), logs.String())
			}
			if !strings.Contains(logs.String(), "path="+path) {
				t.Fatalf("no warning names %s:\n%s", path, logs.String())
			}
		})
	}
}

// TestSafeDirPassesTheCheck: the test helper's directories are safe, or
// every plugin test would be refused.
func TestSafeDirPassesTheCheck(t *testing.T) {
	probs, err := plugin.Inspect(testenv.SafeDir(t))
	if err != nil || len(probs) > 0 {
		t.Fatalf("testenv.SafeDir is not safe: %v %v", probs, err)
	}
}

// TestSystemTempIsUnsafe: a plugins directory under /tmp (1777) is refused
// like one under any world-writable directory.
func TestSystemTempIsUnsafe(t *testing.T) {
	info, err := os.Stat("/tmp")
	if err != nil || info.Mode().Perm()&0o002 == 0 {
		t.Skip("skipped: /tmp is not world-writable here")
	}
	probs, err := plugin.Inspect(t.TempDir())
	must(t, err)
	for _, p := range probs {
		if p.Path == "/tmp" {
			return
		}
	}
	t.Fatalf("/tmp not among the problems: %v", probs)
}

// TestSymlinkLoop: a loop of symbolic links is an error, not a hang.
func TestSymlinkLoop(t *testing.T) {
	dir := testenv.SafeDir(t)
	must(t, os.Symlink("b", filepath.Join(dir, "a")))
	must(t, os.Symlink("a", filepath.Join(dir, "b")))
	if _, err := plugin.Inspect(filepath.Join(dir, "a")); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Fatalf("err = %v, want too many symbolic links", err)
	}
}

// TestWriteLockRefusesUnsafeDirectory: `plugins lock` will not write a lock
// where another user could replace it; with Insecure it warns and writes.
func TestWriteLockRefusesUnsafeDirectory(t *testing.T) {
	tests := []struct {
		name  string
		other bool
		spoil func(t *testing.T, tr tree) string
	}{
		{"plugins directory writable by anyone", false, func(t *testing.T, tr tree) string { must(t, os.Chmod(tr.plugins, 0o777)); return tr.plugins }},
		{"parent writable by group", false, func(t *testing.T, tr tree) string { must(t, os.Chmod(tr.parent, 0o775)); return tr.parent }},
		{"plugins directory owned by another user", true, func(t *testing.T, tr tree) string {
			must(t, os.Chown(tr.plugins, nobody, nobody))
			return tr.plugins
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.other {
				needRoot(t)
			}
			tr := newTree(t)
			path := tt.spoil(t, tr)
			lock := filepath.Join(tr.plugins, plugin.LockFileName)
			_, err := plugin.WriteLock(tr.dir(), plugin.Perms{})
			wantUnsafe(t, err, path, "refusing to write "+lock)
			if _, err := os.Stat(lock); err == nil {
				t.Fatal("a refused lock was written")
			}
			var logs bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})
			if _, err := plugin.WriteLock(tr.dir(), plugin.Perms{Insecure: true, Logger: log}); err != nil {
				t.Fatalf("insecure: %v", err)
			}
			if _, err := os.Stat(lock); err != nil || !strings.Contains(logs.String(), "path="+path) {
				t.Fatalf("insecure: lock %v, warnings:\n%s", err, logs.String())
			}
		})
	}
}

// TestReadLockRefusesUnsafeLockFile: a lock file another user could change
// pins nothing; the launcher refuses to read it (and so to start plugins).
func TestReadLockRefusesUnsafeLockFile(t *testing.T) {
	tests := []struct {
		name  string
		other bool
		spoil func(t *testing.T, lock string)
		want  string
	}{
		{"writable by anyone", false, func(t *testing.T, lock string) { must(t, os.Chmod(lock, 0o666)) }, "chmod go-w "},
		{"writable by group", false, func(t *testing.T, lock string) { must(t, os.Chmod(lock, 0o664)) }, "chmod g-w "},
		{"owned by another user", true, func(t *testing.T, lock string) { must(t, os.Chown(lock, nobody, nobody)) }, "chown root "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.other {
				needRoot(t)
			}
			tr := newTree(t)
			if _, err := plugin.WriteLock(tr.dir(), plugin.Perms{}); err != nil {
				t.Fatal(err)
			}
			lock := filepath.Join(tr.plugins, plugin.LockFileName)
			tt.spoil(t, lock)
			_, err := plugin.NewLauncher(tr.dir(), nil)
			wantUnsafe(t, err, lock, "refusing "+lock, tt.want+lock)

			var logs bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})
			l, err := plugin.NewLauncher(tr.dir(), log, plugin.WithPerms(plugin.Perms{Insecure: true}))
			if err != nil {
				t.Fatalf("insecure: %v", err)
			}
			if l.Lock == nil || !strings.Contains(logs.String(), "path="+lock) {
				t.Fatalf("insecure: lock %v not read with a warning:\n%s", l.Lock, logs.String())
			}
		})
	}
}
