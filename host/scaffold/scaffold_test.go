package scaffold_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/scaffold"
)

// sdkDir is this checkout's SDK module, which the new modules replace the
// released SDK with.
func sdkDir(t *testing.T) string {
	t.Helper()
	d := scaffold.FindSDK(".")
	if d == "" {
		t.Fatal("no sdk/go.mod above the test's directory")
	}
	return d
}

// goIn runs the go command in dir, as an author would in the new module.
func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestScaffoldPassesTheKit writes a plugin that is both a source and a
// destination, outside this repository's modules, and runs its own test:
// the conformance kit, every source and destination subtest.
func TestScaffoldPassesTheKit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module and runs the conformance kit on it (about a minute)")
	}
	dir := filepath.Join(t.TempDir(), "sqlflow-plugin-greeter")
	wrote, err := scaffold.Write(scaffold.Options{Name: "greeter", Dir: dir, Source: true, Destination: true, SDKDir: sdkDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(wrote) != 6 {
		t.Errorf("wrote %v, want go.mod, main.go, connector.go, conformance_test.go, README.md, .gitignore", wrote)
	}
	goIn(t, dir, "mod", "tidy")
	goIn(t, dir, "vet", "./...")
	out := goIn(t, dir, "test", "-count=1", "-v", "./...")
	for _, sub := range []string{"source/resume", "destination/", "configure/unknown_key"} {
		if !strings.Contains(out, "--- PASS: TestConformance/"+sub) {
			t.Errorf("the kit's output has no passing %s subtest:\n%s", sub, out)
		}
	}
	if strings.Contains(out, "--- SKIP") {
		t.Errorf("the kit skipped subtests of the scaffold:\n%s", out)
	}
}

// TestScaffoldOneRole builds and vets the source-only and destination-only
// variants (the kit runs on the combined one above).
func TestScaffoldOneRole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two modules")
	}
	for _, o := range []scaffold.Options{{Name: "src", Source: true}, {Name: "dst", Destination: true}} {
		o.Dir = filepath.Join(t.TempDir(), o.Name)
		o.SDKDir = sdkDir(t)
		if _, err := scaffold.Write(o); err != nil {
			t.Fatal(err)
		}
		goIn(t, o.Dir, "mod", "tidy")
		goIn(t, o.Dir, "vet", "./...")
	}
}

func TestScaffoldBadInput(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	for _, c := range []struct {
		name string
		o    scaffold.Options
		want string
	}{
		{"upper-case name", scaffold.Options{Name: "Greeter"}, `plugin name "Greeter": use a lower-case letter`},
		{"empty name", scaffold.Options{Name: ""}, `plugin name "": use`},
		{"name with a slash", scaffold.Options{Name: "a/b"}, `plugin name "a/b"`},
		{"directory with files", scaffold.Options{Name: "ok", Dir: full}, full + " already holds files"},
		{"not the sdk", scaffold.Options{Name: "ok", SDKDir: t.TempDir()}, "no go.mod of module github.com/sqlflow/sqlflow-host/sdk"},
		{"bad module path", scaffold.Options{Name: "ok", Module: "my module"}, `--module "my module" is not a Go module path`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.o.Dir == "" {
				c.o.Dir = filepath.Join(t.TempDir(), "new")
			}
			_, err := scaffold.Write(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.o.Dir != full {
				if _, err := os.Stat(c.o.Dir); !os.IsNotExist(err) {
					t.Errorf("%s was created for a refused scaffold", c.o.Dir)
				}
			}
		})
	}
}
