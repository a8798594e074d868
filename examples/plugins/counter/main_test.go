package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance copies main.go into a module of its own outside this
// repository's modules (go.mod requiring the SDK module, replaced by this
// checkout's sdk directory, as a third-party author would while the SDK
// comes from a checkout), builds it as sqlflow-plugin-counter and runs the
// conformance kit on it.
func TestConformance(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	sdkDir, err := filepath.Abs(filepath.Join("..", "..", "..", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(t.TempDir(), "sqlflow-plugin-counter")
	if err := os.Mkdir(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/sqlflow-plugin-counter\n\ngo 1.26\n\n" +
		"require github.com/sqlflow/sqlflow-host/sdk v1.0.0\n\n" +
		"replace github.com/sqlflow/sqlflow-host/sdk => " + sdkDir + "\n"
	for name, data := range map[string][]byte{"main.go": src, "go.mod": []byte(gomod)} {
		if err := os.WriteFile(filepath.Join(mod, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = mod
	tidy.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in %s: %v\n%s", mod, err, out)
	}
	sdktest.Run(t, sdktest.Config{
		Binary: sdktest.BuildPlugin(t, mod),
		BadConfigs: []sdktest.BadConfig{
			{Name: "missing n", Config: json.RawMessage(`{}`), Field: "n"},
			{Name: "negative n", Config: json.RawMessage(`{"n": -1}`), Field: "n"},
			{Name: "n not a number", Config: json.RawMessage(`{"n": "ten"}`), Field: "n"},
		},
		Source: &sdktest.SourceConfig{Config: json.RawMessage(`{"n": 50}`), Stream: "numbers", MaxRows: 7},
	})
}

// TestDocsShowThisFile checks that docs/plugin-sdk.md shows main.go as it
// is, so the example the guide calls complete is the one the kit passes,
// and that it stays within 40 lines of code (blank and comment lines not
// counted).
func TestDocsShowThisFile(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "plugin-sdk.md"))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, block := range strings.Split(string(doc), "```go\n")[1:] {
		code, _, _ := strings.Cut(block, "```")
		if strings.Contains(code, "Command sqlflow-plugin-counter") {
			found = true
			if code != string(src) {
				t.Errorf("docs/plugin-sdk.md's counter example differs from examples/plugins/counter/main.go; copy the file into the docs' code block")
			}
		}
	}
	if !found {
		t.Errorf("docs/plugin-sdk.md shows no code block holding examples/plugins/counter/main.go")
	}
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "//") {
			n++
		}
	}
	if n > 40 {
		t.Errorf("main.go has %d lines of code; the guide promises a complete source in 40 at most", n)
	}
}
