package sheetsconn_test

import (
	"net/http"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// noSchema stands for a stream without a schema.
const noSchema = "<no schema>"

// A sheet with a header and no data rows, and a sheet with no rows at all,
// are clean ends of their streams: Discover names them (with the header's
// columns, or without a schema when there is nothing to take columns
// from), and a read, full or incremental, is one done page of no rows.
// An empty sheet's page has no records: a schema of no columns would be
// made up.
func TestEmptySheets(t *testing.T) {
	f := newFixture(t,
		&sheetstest.Sheet{Title: "Header", Rows: [][]any{{"id", "name", "updated"}}},
		&sheetstest.Sheet{Title: "HeaderOnlyGrid", Rows: [][]any{{"id", "name"}}, RowCount: 1, ColumnCount: 2},
		&sheetstest.Sheet{Title: "Blank"},
		&sheetstest.Sheet{Title: "BlankRows", Rows: [][]any{{}, {nil, nil}, {}}},
		&sheetstest.Sheet{Title: "Data", Rows: [][]any{{"a", "b"}, {1.0, 2.0}}},
	)
	tests := []struct {
		name    string
		sheet   string
		extra   map[string]any
		columns string // noSchema for none
	}{
		{"header only", "Header", nil, "id:utf8, name:utf8, updated:utf8"},
		{"header only, one-row grid", "HeaderOnlyGrid", nil, "id:utf8, name:utf8"},
		{"no rows", "Blank", nil, noSchema},
		{"no rows, no header", "Blank", map[string]any{"has_header": false}, noSchema},
		{"blank rows", "BlankRows", nil, noSchema},
		{"range beside the data", "Data", map[string]any{"range": "D1:F10"}, noSchema},
		{"range below the header", "Data", map[string]any{"range": "A3:B9", "has_header": false}, noSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configure(t, f.config(tt.sheet, tt.extra))
			streams, err := c.Discover(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			var st *sdk.Stream
			for i := range streams {
				if streams[i].Name == tt.sheet {
					st = &streams[i]
				}
			}
			if st == nil {
				t.Fatalf("Discover does not name sheet %q: %+v", tt.sheet, streams)
			}
			columns := noSchema
			if st.Schema != nil {
				columns = schemaString(st.Schema)
			}
			if columns != tt.columns {
				t.Fatalf("Discover's schema %q; want %q", columns, tt.columns)
			}
			for _, req := range []sdk.ReadRequest{
				{Stream: tt.sheet},
				{Stream: tt.sheet, CursorField: "id", CursorValue: []byte(`"5"`)},
			} {
				// A fresh connector, so the first page works out the layout.
				rows, pages := readAll(t, configure(t, f.config(tt.sheet, tt.extra)), req)
				if len(rows) != 0 || len(pages) != 1 || !pages[0].done {
					t.Fatalf("read %+v: %d rows in %d pages; want one done page of no rows", req, len(rows), len(pages))
				}
				if pages[0].cursor != "" {
					t.Fatalf("read %+v: cursor %s without a row", req, pages[0].cursor)
				}
				if tt.columns == noSchema && pages[0].schema != nil {
					t.Fatalf("read %+v: records with schema %s for a sheet without columns", req, pages[0].schema)
				}
				if tt.columns != noSchema && (pages[0].schema == nil || schemaString(pages[0].schema) != tt.columns) {
					t.Fatalf("read %+v: records with schema %v; want %s", req, pages[0].schema, tt.columns)
				}
			}
		})
	}
	if n := f.srv.Count("values", http.StatusOK) + f.srv.Count("sample", http.StatusOK) + f.srv.Count("metadata", http.StatusOK); n == 0 {
		t.Fatal("no request reached the fake API")
	}
}
