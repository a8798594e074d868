package sdktest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// This is the conformance test of a csv-like plugin, in the plugin's main
// package directory (e.g. plugins/mycsv/conformance_test.go). readCSV
// stands for a function of the test that reads the file the destination
// wrote, with the kit's schema.
func ExampleRun() {
	var readCSV func(ctx context.Context, path string, schema *arrow.Schema) (rowhash.Sum, error)

	testConformance := func(t *testing.T) {
		bin := sdktest.BuildPlugin(t, ".")
		out := t.TempDir() + "/out.csv"
		sdktest.Run(t, sdktest.Config{
			Binary: bin,
			BadConfigs: []sdktest.BadConfig{
				{Name: "no path", Config: json.RawMessage(`{}`), Field: "path"},
				{Name: "delimiter too long", Config: json.RawMessage(`{"path": "x.csv", "delimiter": ";;"}`), Field: "delimiter"},
			},
			Source: &sdktest.SourceConfig{
				Config:  json.RawMessage(`{"path": "testdata/people.csv"}`),
				Stream:  "people",
				MaxRows: 7,
			},
			Destination: &sdktest.DestinationConfig{
				Config: json.RawMessage(`{"path": "` + out + `"}`),
				Target: "out",
				ReadTarget: func(ctx context.Context, schema *arrow.Schema) (rowhash.Sum, error) {
					return readCSV(ctx, out, schema)
				},
			},
		})
	}
	_ = testConformance
}
