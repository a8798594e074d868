package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled s3
// plugin and a real S3 server (MinIO): csv objects as the source, a
// parquet dataset as the destination, read back through its manifest.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	srv := newServer(t)
	bin := sdktest.BuildPlugin(t, ".")

	// A 230-row source in two objects, with quotes, commas and empty fields.
	for part, rng := range [][2]int{{0, 120}, {120, 230}} {
		var b strings.Builder
		b.WriteString("id,name,score\n")
		for i := rng[0]; i < rng[1]; i++ {
			name := fmt.Sprintf(`"person %d, ""the %dth"""`, i, i)
			if i%6 == 0 {
				name = ""
			}
			fmt.Fprintf(&b, "%d,%s,%v\n", i, name, float64(i)*0.5)
		}
		srv.put(t, fmt.Sprintf("in/people/part-%d.csv", part), []byte(b.String()))
	}
	// The large stream: 2,000 rows of 4 KiB strings, about 8 MiB.
	var b strings.Builder
	b.WriteString("id,blob\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "%d,%s\n", i, strings.Repeat(string(rune('a'+i%26)), 4096))
	}
	srv.put(t, "in/big/big.csv", []byte(b.String()))

	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "no bucket", Config: json.RawMessage(`{}`), Field: "bucket"},
			{Name: "uri not s3", Config: json.RawMessage(`{"uri": "http://x/y"}`), Field: "uri"},
			{Name: "unknown format", Config: json.RawMessage(`{"bucket": "b", "file_format": "xml"}`), Field: "file_format"},
			{Name: "half the keys", Config: json.RawMessage(`{"bucket": "b", "access_key_id": "x"}`), Field: "secret_access_key"},
			{Name: "bad endpoint", Config: json.RawMessage(`{"bucket": "b", "endpoint_url": "127.0.0.1:9000"}`), Field: "endpoint_url"},
			{Name: "max files", Config: json.RawMessage(`{"bucket": "b", "max_files_per_run": 0}`), Field: "max_files_per_run"},
		},
		Source: &sdktest.SourceConfig{
			Config:      srv.config(t, map[string]any{"path_prefix": "in/people/"}),
			Stream:      "people",
			MaxRows:     11,
			LargeStream: &sdktest.LargeStreamConfig{Config: srv.config(t, map[string]any{"path_prefix": "in/big"}), Stream: "big"},
		},
		Destination: &sdktest.DestinationConfig{
			Config:        srv.config(t, map[string]any{"path_prefix": "out", "file_format": "parquet"}),
			Target:        "result",
			MissingTarget: "never_written",
			ReadTarget: func(ctx context.Context, _ *arrow.Schema) (rowhash.Sum, error) {
				return srv.readParquetDataset(ctx, "out/result")
			},
		},
	})
	if left := srv.keys(t, "out/.sqlflow-staging/"); len(left) > 0 {
		t.Logf("staging objects left after the kit (the next write of each flow deletes them): %d", len(left))
	}
}
