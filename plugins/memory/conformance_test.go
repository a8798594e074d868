package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled
// memory plugin. The destination's tables live in process memory, so the
// kit reads them back through dump_path, which the plugin rewrites as an
// Arrow IPC file at each commit.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	bin := sdktest.BuildPlugin(t, ".")
	dir := t.TempDir()
	dump := filepath.Join(dir, "{table}.arrow")

	// The large stream: 16 inline rows of 400 KiB strings, about 6.4 MiB.
	var big []map[string]any
	for i := range 16 {
		big = append(big, map[string]any{"id": i, "blob": strings.Repeat(fmt.Sprint(i%10), 400<<10)})
	}
	large, err := json.Marshal(map[string]any{"table_name": "big", "rows": big})
	if err != nil {
		t.Fatal(err)
	}

	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "rows and generate", Config: json.RawMessage(`{"rows": [{"a": 1}], "generate": {"rows": 3}}`), Field: "generate"},
			{Name: "negative generate rows", Config: json.RawMessage(`{"generate": {"rows": -1}}`), Field: "generate.rows"},
			{Name: "rows not a list", Config: json.RawMessage(`{"rows": 3}`), Field: "rows"},
			{Name: "fault share over 1", Config: json.RawMessage(`{"generate": {"rows": 3}, "faults": {"transient": 2}}`), Field: "faults.transient"},
			{Name: "table_name not a string", Config: json.RawMessage(`{"table_name": 7}`), Field: "table_name"},
		},
		Source: &sdktest.SourceConfig{
			Config:        json.RawMessage(`{"table_name": "numbers", "generate": {"rows": 250, "seed": 42}}`),
			Stream:        "numbers",
			MaxRows:       9,
			EstimatedRows: 250,
			LargeStream:   &sdktest.LargeStreamConfig{Config: large, Stream: "big"},
		},
		Destination: &sdktest.DestinationConfig{
			Config:        mustJSON(t, map[string]any{"table_name": "out", "dump_path": dump}),
			Target:        "out",
			MissingTarget: "never_written",
			ReadTarget: func(ctx context.Context, _ *arrow.Schema) (rowhash.Sum, error) {
				return readIPCFile(filepath.Join(dir, "out.arrow"))
			},
		},
	})
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readIPCFile sums the rows of an Arrow IPC file; a missing file holds none.
func readIPCFile(path string) (rowhash.Sum, error) {
	var sum rowhash.Sum
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return sum, nil
	}
	if err != nil {
		return sum, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", path, err)
	}
	defer r.Close()
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		if err != nil {
			return sum, fmt.Errorf("read %s: batch %d: %w", path, i, err)
		}
		sum.Add(rec)
	}
	return sum, nil
}
