package filestage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// TestCheckTargetResolvesSpellingsOfOneFile: every way of naming one file
// resolves to the same string, and that string is "file:" and the real
// absolute path.
func TestCheckTargetResolvesSpellingsOfOneFile(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(wd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("out", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("out", "link"); err != nil {
		t.Fatal(err)
	}
	want := "file:" + filepath.Join(real, "out", "orders.csv")
	tests := []struct {
		name, path, target string
		isDefault          bool
	}{
		{"relative directory, stem", "out", "orders", false},
		{"relative directory, file name", "out", "orders.csv", false},
		{"unclean relative directory", "./out/../out/", "orders", false},
		{"absolute directory", filepath.Join(wd, "out"), "orders", false},
		{"directory through a symbolic link", "link", "orders.csv", false},
		{"stream name as default target", "out", "orders", true},
		{"single file, no target", "out/orders.csv", "", false},
		{"single file, stem target", "out/orders.csv", "orders", false},
		{"single file, other stream name as default target", "out/orders.csv", "sales", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filestage.CheckTarget(tt.path, tt.target, tt.isDefault, ".csv")
			if err != nil {
				t.Fatal(err)
			}
			if got.Resolved != want {
				t.Fatalf("Resolved = %q, want %q", got.Resolved, want)
			}
		})
	}
	// Another file differs, also when only the extension's case does.
	for _, target := range []string{"orders2", "orders.CSV"} {
		got, err := filestage.CheckTarget("out", target, false, ".csv")
		if err != nil {
			t.Fatal(err)
		}
		if got.Resolved == want {
			t.Errorf("target %q resolves to %q, as orders does", target, got.Resolved)
		}
	}
}

// TestCheckTargetMissingDirectory: a directory still to be created is
// resolved from its nearest existing parent, and is not created.
func TestCheckTargetMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := filestage.CheckTarget(filepath.Join(dir, "a", "b"), "t", false, ".csv")
	if err != nil {
		t.Fatal(err)
	}
	if want := "file:" + filepath.Join(real, "a", "b", "t.csv"); got.Resolved != want {
		t.Fatalf("Resolved = %q, want %q", got.Resolved, want)
	}
	if got.Dir != filepath.Join(dir, "a", "b") || got.File != "t.csv" {
		t.Fatalf("Dir, File = %q, %q", got.Dir, got.File)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Fatal("CheckTarget created the directory")
	}
}

// TestCheckTargetRefuses: what a write could not (or must not) write is a
// PERMANENT error saying what is wrong.
func TestCheckTargetRefuses(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"out", "out/sub.csv"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"elsewhere.csv", "plain"} {
		if err := os.WriteFile(f, []byte("id\n1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../elsewhere.csv", "out/linked.csv"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../missing.csv", "out/dangling.csv"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, target string
		want               string
	}{
		{"symbolic link", "out", "linked", `target file "out/linked.csv" (resolved to ` + wd + `/out/linked.csv) is a symbolic link`},
		{"dangling symbolic link", "out", "dangling.csv", `"out/dangling.csv" (resolved to ` + wd + `/out/dangling.csv) is a symbolic link`},
		{"single file that is a symbolic link", "out/linked.csv", "", "is a symbolic link"},
		{"directory", "out", "sub", `target file "out/sub.csv" (resolved to ` + wd + `/out/sub.csv) is a directory`},
		{"NUL in target", "out", "a\x00b", `target "a\x00b" holds a NUL byte`},
		{"NUL in path", "o\x00ut", "t", `destination path "o\x00ut" holds a NUL byte`},
		{"directory under a file", "plain/out", "t", `create directory "plain/out" (resolved to ` + wd + `/plain/out): not a directory`},
		{"directory that is a file", "plain", "t", `create directory "plain" (resolved to ` + wd + `/plain): not a directory`},
		{"subdirectory target", "out", "sub/t", "must be a plain file name"},
		{"other target of a single file", "out/one.csv", "two", "names a single file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filestage.CheckTarget(tt.path, tt.target, false, ".csv")
			if err == nil {
				t.Fatalf("accepted, resolved to %q", got.Resolved)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error\n  %v\nwant it to hold\n  %s", err, tt.want)
			}
			if errclass.Of(err) != errclass.Permanent {
				t.Errorf("class %v, want PERMANENT", errclass.Of(err))
			}
		})
	}
}

// TestRealPath: a file reached through a linked directory and through
// the real one gives one path; a link as the file itself is not followed.
func TestRealPath(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(wd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("dumps", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"dumps", "via"}, {"elsewhere.arrow", "dumps/t.arrow"}} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	want := filepath.Join(real, "dumps", "t.arrow")
	for _, p := range []string{"dumps/t.arrow", "via/t.arrow", "./via/../dumps/t.arrow", filepath.Join(wd, "via", "t.arrow")} {
		got, err := filestage.RealPath(p)
		if err != nil || got != want {
			t.Errorf("RealPath(%q) = %q, %v; want %q", p, got, err, want)
		}
	}
	if got, err := filestage.RealPath("new/dir/t.arrow"); err != nil || got != filepath.Join(real, "new", "dir", "t.arrow") {
		t.Errorf("RealPath of a file in missing directories = %q, %v", got, err)
	}
}
