package sheetsconn_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetsconn"
	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

const (
	reader  = "reader@sqlflow-test.iam.gserviceaccount.com"
	sheetID = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
)

// fixture is a fake server holding one spreadsheet shared with reader,
// and reader's key file.
type fixture struct {
	srv     *sheetstest.Server
	ss      *sheetstest.Spreadsheet
	keyFile string
}

func newFixture(t *testing.T, sheets ...*sheetstest.Sheet) *fixture {
	t.Helper()
	srv := sheetstest.New(t)
	ss := &sheetstest.Spreadsheet{ID: sheetID, Title: "Orders 2024", TimeZone: "Europe/Paris", Sheets: sheets, Readers: []string{reader}}
	srv.Add(ss)
	key := srv.ServiceAccountKey(t, reader)
	keyFile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, ss: ss, keyFile: keyFile}
}

// config is a valid configuration for sheet, with extra keys merged in.
func (f *fixture) config(sheet string, extra map[string]any) map[string]any {
	cfg := map[string]any{"spreadsheet_id": sheetID, "sheet_name": sheet, "credentials_file": f.keyFile, "endpoint": f.srv.URL}
	for k, v := range extra {
		if v == nil {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	return cfg
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func configure(t *testing.T, cfg map[string]any) *sheetsconn.Connector {
	t.Helper()
	c := sheetsconn.New(nil)
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fe, err := c.Configure(ctx(t), raw)
	if err != nil || len(fe) > 0 {
		t.Fatalf("configure %s: %v %v", raw, fe, err)
	}
	return c
}

// page is what a test keeps of one page.
type page struct {
	rows       [][]string
	checkpoint []byte
	done       bool
	cursor     string
	schema     *arrow.Schema
}

// rowsOf renders a batch's rows, each value in rowhash's canonical text.
func rowsOf(rec arrow.RecordBatch) [][]string {
	var out [][]string
	for i := 0; i < int(rec.NumRows()); i++ {
		row := make([]string, rec.NumCols())
		for j, col := range rec.Columns() {
			if col.IsNull(i) {
				row[j] = "NULL"
			} else {
				row[j] = string(rowhash.AppendValue(nil, col, i))
			}
		}
		out = append(out, row)
	}
	return out
}

func readPage(t *testing.T, c *sheetsconn.Connector, req sdk.ReadRequest) (page, error) {
	t.Helper()
	p, err := c.ReadPage(ctx(t), req)
	if err != nil {
		return page{}, err
	}
	out := page{checkpoint: p.Checkpoint, done: p.Done, cursor: string(p.CursorValue)}
	if p.Records != nil {
		out.rows = rowsOf(p.Records)
		out.schema = p.Records.Schema()
		p.Records.Release()
	}
	return out, nil
}

// readAll reads req's stream to the end and returns every row and page.
func readAll(t *testing.T, c *sheetsconn.Connector, req sdk.ReadRequest) ([][]string, []page) {
	t.Helper()
	var rows [][]string
	var pages []page
	for i := 0; ; i++ {
		if i > 10_000 {
			t.Fatal("no Done after 10,000 pages")
		}
		p, err := readPage(t, c, req)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		rows = append(rows, p.rows...)
		pages = append(pages, p)
		if p.done {
			return rows, pages
		}
		req.Checkpoint = p.checkpoint
	}
}

func join(rows [][]string) string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = strings.Join(r, "|")
	}
	return strings.Join(lines, "\n")
}

func schemaString(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + ":" + f.Type.String()
	}
	return strings.Join(parts, ", ")
}
