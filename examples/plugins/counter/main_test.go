package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance builds this directory as sqlflow-plugin-counter and runs
// the conformance kit on it, as an author would.
func TestConformance(t *testing.T) {
	sdktest.Run(t, sdktest.Config{
		Binary: sdktest.BuildPlugin(t, "."),
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
