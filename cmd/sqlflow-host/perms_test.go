package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// copyPlugin copies the built plugin typ to path, mode 0755.
func copyPlugin(t *testing.T, typ, path string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(pluginsDir, "sqlflow-plugin-"+typ))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

const memoryPipeline = `version: 1
sources:
  a: {type: memory, rows: [{id: 1}]}
destinations:
  b: {type: memory}
flows:
  - {from: a, to: b, target: t}
`

// The case: the plugin is a symbolic link into a directory anyone
// may write to, so any local user could swap the code the host runs. The
// host refuses it, naming that directory, its owner and mode and the fix;
// --insecure-plugin-perms runs it with a warning.
func TestRunRefusesPluginLinkedIntoWorldWritableDir(t *testing.T) {
	root := testenv.SafeDir(t)
	open := filepath.Join(root, "open")
	plugins := filepath.Join(root, "plugins")
	for d, mode := range map[string]os.FileMode{open: 0o777, plugins: 0o755} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	copyPlugin(t, "memory", filepath.Join(open, "sqlflow-plugin-memory"))
	if err := os.Symlink(filepath.Join(open, "sqlflow-plugin-memory"), filepath.Join(plugins, "sqlflow-plugin-memory")); err != nil {
		t.Fatal(err)
	}
	p := write(t, t.TempDir(), "p.yaml", memoryPipeline)
	expect(t, cliDir(t, plugins, "run", p), 1, "refusing plugin memory", open+" (owner root, mode drwxrwxrwx) is writable by group and others",
		"chmod go-w "+open, "--insecure-plugin-perms")
	r := cliDir(t, plugins, "--insecure-plugin-perms", "run", p)
	expect(t, r, 0, "1 row", "[WARN]", "unsafe permissions", "path="+open)
	// Source and destination start the same plugin: one warning, not two.
	if n := strings.Count(r.stderr, "path="+open+" "); n != 1 {
		t.Fatalf("%d warnings about %s, want 1:\n%s", n, open, r)
	}
}

// A plugin binary owned by another user is refused, even with mode 0755.
func TestRunRefusesPluginOwnedByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: handing a file to another user (chown) needs root; CI runs the tests as root")
	}
	plugins := testenv.SafeDir(t)
	bin := filepath.Join(plugins, "sqlflow-plugin-memory")
	copyPlugin(t, "memory", bin)
	if err := os.Chown(bin, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	p := write(t, t.TempDir(), "p.yaml", memoryPipeline)
	expect(t, cliDir(t, plugins, "run", p), 1, "refusing plugin memory", bin+" (owner ", "not root", "chown root "+bin)
}

// `plugins lock` will not write a lock into a directory anyone may write
// to (a lock there pins nothing); --insecure-plugin-perms writes it with a
// warning.
func TestPluginsLockRefusesWorldWritableDir(t *testing.T) {
	plugins := testenv.SafeDir(t)
	copyPlugin(t, "memory", filepath.Join(plugins, "sqlflow-plugin-memory"))
	if err := os.Chmod(plugins, 0o777); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(plugins, "plugins.lock")
	expect(t, cliDir(t, plugins, "plugins", "lock"), 1, "refusing to write "+lock, "chmod go-w "+plugins)
	if _, err := os.Stat(lock); err == nil {
		t.Fatal("plugins lock wrote a lock into a world-writable directory")
	}
	expect(t, cliDir(t, plugins, "--insecure-plugin-perms", "plugins", "lock"), 0, "wrote", "[WARN]", "path="+plugins)
}
