package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the compiled
// gsheets plugin reading a local fake of the Sheets API: a 230-row sheet
// with nulls, quotes, dates and date-times, read 11 rows a page with a
// service account key whose token endpoint is the fake's, and a large
// sheet of 2,000 rows of 4 KiB strings.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and starts many plugin processes")
	}
	bin := sdktest.BuildPlugin(t, ".")
	srv := sheetstest.New(t)
	const email = "conformance@sqlflow-test.iam.gserviceaccount.com"
	keyFile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyFile, srv.ServiceAccountKey(t, email), 0o600); err != nil {
		t.Fatal(err)
	}

	people := [][]any{{"id", "name", "score", "active", "day", "at"}}
	for i := range 230 {
		var name, score any = fmt.Sprintf("person %d, \"the %dth\"", i, i), float64(i) * 0.5
		if i%6 == 0 {
			name = nil
		}
		if i%5 == 0 {
			score = nil
		}
		people = append(people, []any{float64(i), name, score, i%2 == 0, 45292.0 + float64(i%28), 45292.0 + float64(i)/7})
	}
	big := [][]any{{"id", "blob"}}
	for i := range 2000 {
		big = append(big, []any{float64(i), strings.Repeat(string(rune('a'+i%26)), 4096)})
	}
	srv.Add(&sheetstest.Spreadsheet{ID: "1Conformance", Title: "Conformance", TimeZone: "America/New_York", Readers: []string{email},
		Sheets: []*sheetstest.Sheet{
			{Title: "people", Rows: people, Formats: map[int]string{4: "DATE", 5: "DATE_TIME"}},
			{Title: "big", Rows: big, RowCount: 2001},
		}})

	cfg := func(sheet string, extra map[string]any) json.RawMessage {
		v := map[string]any{"spreadsheet_id": "1Conformance", "sheet_name": sheet, "credentials_file": keyFile, "endpoint": srv.URL}
		for k, x := range extra {
			v[k] = x
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sdktest.Run(t, sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "empty", Config: json.RawMessage(`{}`), Field: "spreadsheet_id"},
			{Name: "no sheet_name", Config: json.RawMessage(`{"spreadsheet_id": "1abc"}`), Field: "sheet_name"},
			{Name: "missing credentials file", Config: json.RawMessage(`{"spreadsheet_id": "1abc", "sheet_name": "S", "credentials_file": "/nonexistent/key.json"}`), Field: "credentials_file"},
			{Name: "credentials_json not a key", Config: json.RawMessage(`{"spreadsheet_id": "1abc", "sheet_name": "S", "credentials_json": "not json"}`), Field: "credentials_json"},
			{Name: "bad range", Config: json.RawMessage(`{"spreadsheet_id": "1abc", "sheet_name": "S", "range": "A1:1A"}`), Field: "range"},
			{Name: "bad column type", Config: json.RawMessage(`{"spreadsheet_id": "1abc", "sheet_name": "S", "columns": {"a": "money"}}`), Field: "columns"},
			{Name: "has_header not a bool", Config: json.RawMessage(`{"spreadsheet_id": "1abc", "sheet_name": "S", "has_header": "yes"}`), Field: "has_header"},
		},
		Source: &sdktest.SourceConfig{
			Config:  cfg("people", nil),
			Stream:  "people",
			MaxRows: 11,
			LargeStream: &sdktest.LargeStreamConfig{
				Config: cfg("big", map[string]any{"page_size": 2000}),
				Stream: "big",
			},
		},
	})
}
