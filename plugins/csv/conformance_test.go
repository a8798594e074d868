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
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"

	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled csv
// plugin. The destination's file is read back with arrow-go's csv reader,
// typed by the kit's schema, with empty fields as nulls (the csv
// destination's default null string).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	bin := sdktest.BuildPlugin(t, ".")
	in := t.TempDir()
	out := t.TempDir()

	// A 230-row source with nulls, quotes and commas.
	var b strings.Builder
	b.WriteString("id,name,score,active,at\n")
	for i := range 230 {
		name := fmt.Sprintf(`"person %d, ""the %dth"""`, i, i)
		if i%6 == 0 {
			name = ""
		}
		score := fmt.Sprint(float64(i) * 0.5)
		if i%5 == 0 {
			score = ""
		}
		fmt.Fprintf(&b, "%d,%s,%s,%t,2024-03-%02dT10:00:%02dZ\n", i, name, score, i%2 == 0, 1+i%28, i%60)
	}
	writeFile(t, filepath.Join(in, "people.csv"), b.String())

	// The large stream: 2,000 rows of 4 KiB strings, about 8 MiB.
	b.Reset()
	b.WriteString("id,blob\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "%d,%s\n", i, strings.Repeat(string(rune('a'+i%26)), 4096))
	}
	writeFile(t, filepath.Join(in, "big.csv"), b.String())

	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "no path", Config: json.RawMessage(`{}`), Field: "path"},
			{Name: "empty path", Config: json.RawMessage(`{"path": ""}`), Field: "path"},
			{Name: "delimiter too long", Config: json.RawMessage(`{"path": "x.csv", "delimiter": ";;;"}`), Field: "delimiter"},
			{Name: "quote equals delimiter", Config: json.RawMessage(`{"path": "x.csv", "delimiter": "|", "quote_char": "|"}`), Field: "quote_char"},
			{Name: "unknown encoding", Config: json.RawMessage(`{"path": "x.csv", "encoding": "ebcdic"}`), Field: "encoding"},
			{Name: "has_header not a bool", Config: json.RawMessage(`{"path": "x.csv", "has_header": "yes"}`), Field: "has_header"},
		},
		Source: &sdktest.SourceConfig{
			Config:      mustJSON(t, map[string]any{"path": filepath.Join(in, "people.csv")}),
			Stream:      "people",
			MaxRows:     11,
			LargeStream: &sdktest.LargeStreamConfig{Config: mustJSON(t, map[string]any{"path": filepath.Join(in, "big.csv")}), Stream: "big"},
		},
		Destination: &sdktest.DestinationConfig{
			Config:        mustJSON(t, map[string]any{"path": out}),
			Target:        "result",
			MissingTarget: "never_written",
			ReadTarget: func(ctx context.Context, schema *arrow.Schema) (rowhash.Sum, error) {
				return readCSV(filepath.Join(out, "result.csv"), schema)
			},
		},
	})
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readCSV sums the rows of a CSV file with a header, read as schema; a
// missing file holds no rows.
func readCSV(path string, schema *arrow.Schema) (rowhash.Sum, error) {
	var sum rowhash.Sum
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return sum, nil
	}
	if err != nil {
		return sum, err
	}
	defer f.Close()
	r := arrowcsv.NewReader(f, schema,
		arrowcsv.WithHeader(true),
		arrowcsv.WithNullReader(true, ""),
		arrowcsv.WithLazyQuotes(false),
		arrowcsv.WithChunk(1024),
	)
	defer r.Release()
	for r.Next() {
		sum.Add(r.RecordBatch())
	}
	if err := r.Err(); err != nil {
		return sum, fmt.Errorf("read %s: %w", path, err)
	}
	return sum, nil
}
