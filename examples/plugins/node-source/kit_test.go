// Package nodesource holds the test of the Node.js source plugin in this
// directory: the conformance kit run on its executable, as on any plugin.
package nodesource

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// Binary is the plugin's executable, a Node.js script.
const Binary = "sqlflow-plugin-node-source"

// RequireNode skips t, with one line saying what fixes it, unless node is
// on PATH and the plugin's npm dependencies are installed (make test
// installs them when npm is here); under CI=true it fails t instead, so CI
// cannot pass without running the plugin. It returns the executable's
// absolute path.
func RequireNode(t testing.TB) string {
	t.Helper()
	skip := func(why string) {
		t.Helper()
		if testenv.InCI() {
			t.Fatalf("%s (under CI=true this fails instead of skipping)", why)
		}
		t.Skip("skipped: " + why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not on PATH; the Node.js plugin example needs Node.js 20 and npm")
		return ""
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@grpc", "grpc-js")); err != nil {
		skip("the Node.js plugin's dependencies are not installed; run `npm ci --prefix examples/plugins/node-source` (make test does when npm is here)")
		return ""
	}
	return filepath.Join(dir, Binary)
}

func TestConformance(t *testing.T) {
	bin := RequireNode(t)
	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "rows not a number", Config: json.RawMessage(`{"rows": "ten"}`), Field: "rows"},
			{Name: "rows fractional", Config: json.RawMessage(`{"rows": 1.5}`), Field: "rows"},
			{Name: "page_size zero", Config: json.RawMessage(`{"page_size": 0}`), Field: "page_size"},
			{Name: "misspelt key", Config: json.RawMessage(`{"row": 10}`), Field: "row"},
			{Name: "not an object", Config: json.RawMessage(`[1, 2]`)},
		},
		Source: &sdktest.SourceConfig{
			Config:        json.RawMessage(`{"rows": 100, "page_size": 30}`),
			Stream:        "numbers",
			MaxRows:       7,
			EstimatedRows: 100,
			LargeStream: &sdktest.LargeStreamConfig{
				// 5,000 rows of 4 KiB: pages of up to 16 MiB.
				Config: json.RawMessage(`{"rows": 5000, "page_size": 5000, "payload_bytes": 4096}`),
				Stream: "numbers",
			},
		},
	})
}
