package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestPluginsNewRuns follows the scaffold's README as a new author would:
// `plugins new` from inside the checkout, go mod tidy, go build into a
// plugins directory, then a pipeline from source greeter to destination
// greeter, run three times (replace: the target holds the rows once).
func TestPluginsNewRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin module")
	}
	mod := filepath.Join(t.TempDir(), "sqlflow-plugin-greeter")
	wd, _ := os.Getwd()
	if err := os.Chdir(repoRoot); err != nil { // inside the checkout: go.mod gets the replace
		t.Fatal(err)
	}
	r := cli(t, "plugins", "new", "greeter", "--source", "--destination", "--dir", mod)
	os.Chdir(wd)
	expect(t, r, 0, "wrote "+filepath.Join(mod, "connector.go"), "a replace directive", "next: cd "+mod)

	plugins, err := testenv.MkdirSafe("sqlflow-greeter-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(plugins) })
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", filepath.Join(plugins, "sqlflow-plugin-greeter"), "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	dir := t.TempDir()
	// The pipeline the scaffold's README shows, as it shows it.
	readme := mustRead(t, filepath.Join(mod, "README.md"))
	_, yaml, _ := strings.Cut(readme, "```yaml\n")
	yaml, _, _ = strings.Cut(yaml, "```")
	if !strings.Contains(yaml, "type: greeter") {
		t.Fatalf("the README's pipeline does not use the plugin:\n%s", yaml)
	}
	p := write(t, dir, "pipeline.yaml", yaml)
	for run := 1; run <= 3; run++ {
		r := cli(t, "--plugins-dir", plugins, "run", p)
		expect(t, r, 0, "ok, 1000 rows → "+filepath.Join(dir, "out", "items.arrows"))
		st, err := os.Stat(filepath.Join(dir, "out", "items.arrows"))
		if err != nil || st.Size() == 0 {
			t.Fatalf("run %d: out/items.arrows: %v", run, err)
		}
	}
	// A key the connector does not declare: the field error the SDK's
	// config package words, with a suggestion, at validate.
	write(t, dir, "bad.yaml", strings.Replace(mustRead(t, p), "rows: 1000", "row: 1000", 1))
	r = cli(t, "--plugins-dir", plugins, "validate", filepath.Join(dir, "bad.yaml"))
	expect(t, r, 2, "bad.yaml:5:10: sources.demo.row: unknown key \"row\" (did you mean rows?)")
}
