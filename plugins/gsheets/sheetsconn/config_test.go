package sheetsconn_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetsconn"
)

func TestConfigureFieldErrors(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte(`{"type": "service_account", "private_key": "-----BEGIN`), 0o600)
	external := filepath.Join(dir, "external.json")
	os.WriteFile(external, []byte(`{"type": "external_account", "audience": "x"}`), 0o600)
	noPEM := filepath.Join(dir, "nopem.json")
	os.WriteFile(noPEM, []byte(`{"type": "service_account", "client_email": "a@b", "private_key": "nope"}`), 0o600)

	tests := []struct {
		name  string
		cfg   map[string]any
		field string
		msg   string
	}{
		{"no spreadsheet_id", f.config("S", map[string]any{"spreadsheet_id": nil}), "spreadsheet_id", "is required"},
		{"no sheet_name", f.config("S", map[string]any{"sheet_name": nil}), "sheet_name", "is required"},
		{"bad spreadsheet_id", f.config("S", map[string]any{"spreadsheet_id": "a b"}), "spreadsheet_id", "not a spreadsheet ID"},
		{"empty sheet_name", f.config("", nil), "sheet_name", "non-empty"},
		{"missing key file", f.config("S", map[string]any{"credentials_file": filepath.Join(dir, "none.json")}), "credentials_file", "cannot read"},
		{"key file not JSON", f.config("S", map[string]any{"credentials_file": notJSON}), "credentials_file", "is not a JSON key"},
		{"external account", f.config("S", map[string]any{"credentials_file": external}), "credentials_file", `type "external_account"`},
		{"key without PEM", f.config("S", map[string]any{"credentials_file": noPEM}), "credentials_file", "not PEM"},
		{"credentials_json placeholder", f.config("S", map[string]any{"credentials_file": nil, "credentials_json": "${GOOGLE_KEY}"}), "credentials_json", "is not a JSON key"},
		{"two credentials", f.config("S", map[string]any{"api_key": "AIzaX"}), "credentials_file", "only one of"},
		{"bad range", f.config("S", map[string]any{"range": "A1:?"}), "range", "A1 notation"},
		{"backwards range", f.config("S", map[string]any{"range": "C5:A1"}), "range", "before its start"},
		{"range of another sheet", f.config("S", map[string]any{"range": "Other!A1:B"}), "range", `names sheet "Other"`},
		{"has_header string", f.config("S", map[string]any{"has_header": "yes"}), "has_header", "boolean"},
		{"bad column type", f.config("S", map[string]any{"columns": map[string]any{"a": "money"}}), "columns", `unknown type "money"`},
		{"columns and schema", f.config("S", map[string]any{"columns": map[string]any{}, "schema": map[string]any{}}), "schema", "not both"},
		{"page_size zero", f.config("S", map[string]any{"page_size": 0}), "page_size", "from 1 to"},
		{"bad endpoint", f.config("S", map[string]any{"endpoint": "ftp://x"}), "endpoint", "http://"},
		{"unknown key", f.config("S", map[string]any{"sheet": "x"}), "sheet", `unknown key "sheet"; allowed keys: spreadsheet_id, sheet_name, credentials_file,`},
		{"misspelt key", f.config("S", map[string]any{"credentails_file": "k.json"}), "credentails_file",
			`unknown key "credentails_file" (did you mean credentials_file?); allowed keys: spreadsheet_id, sheet_name, credentials_file, credentials_json, api_key, range, has_header, columns, schema, page_size, sample_rows, infer_decimals, endpoint`},
		{"misspelt key, other case", f.config("S", map[string]any{"Page_Sise": 5}), "Page_Sise", "(did you mean page_size?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := json.Marshal(tt.cfg)
			fe, err := sheetsconn.New(nil).Configure(ctx(t), raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range fe {
				if e.Field == tt.field && strings.Contains(e.Message, tt.msg) {
					if strings.Contains(e.Message, "PRIVATE KEY") {
						t.Errorf("the message quotes the key: %s", e.Message)
					}
					return
				}
			}
			t.Errorf("field errors %v lack %s: ...%s...", fe, tt.field, tt.msg)
		})
	}
}

// TestCredentialsFileRelative: a relative credentials_file that is missing
// or not a key is a field error showing the path as written and as
// resolved against the working directory (the pipeline file's directory
// when the host runs the plugin).
func TestCredentialsFileRelative(t *testing.T) {
	f := newFixture(t)
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("notkey.json", []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"missing", "keys/sa.json", `cannot read the credentials file "keys/sa.json" (resolved to ` + wd + `/keys/sa.json): no such file or directory`},
		{"not a key", "notkey.json", `"notkey.json" (resolved to ` + wd + `/notkey.json) is not a JSON key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := json.Marshal(f.config("S", map[string]any{"credentials_file": tt.path}))
			fe, err := sheetsconn.New(nil).Configure(ctx(t), raw)
			if err != nil || len(fe) != 1 || fe[0].Field != "credentials_file" || !strings.HasPrefix(fe[0].Message, tt.want) {
				t.Fatalf("Configure = %v, %v; want one field error at credentials_file starting %s", fe, err, tt.want)
			}
		})
	}
}

func TestConfigureAccepts(t *testing.T) {
	f := newFixture(t)
	key, _ := os.ReadFile(f.keyFile)
	var keyObj map[string]any
	json.Unmarshal(key, &keyObj)
	for name, cfg := range map[string]map[string]any{
		"credentials_file":        f.config("S", nil),
		"credentials_json string": f.config("S", map[string]any{"credentials_file": nil, "credentials_json": string(key)}),
		"credentials_json object": f.config("S", map[string]any{"credentials_file": nil, "credentials_json": keyObj}),
		"api_key":                 f.config("S", map[string]any{"credentials_file": nil, "api_key": "AIzaX"}),
		"default credentials":     f.config("S", map[string]any{"credentials_file": nil}),
		"spreadsheet URL":         f.config("S", map[string]any{"spreadsheet_id": "https://docs.google.com/spreadsheets/d/" + sheetID + "/edit#gid=0"}),
		"every key":               f.config("S", map[string]any{"range": "A1:F", "has_header": false, "columns": []any{map[string]any{"name": "a", "type": "int"}}, "page_size": 500, "sample_rows": 50}),
	} {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(cfg)
			fe, err := sheetsconn.New(nil).Configure(ctx(t), raw)
			if err != nil || len(fe) > 0 {
				t.Errorf("%v %v", fe, err)
			}
		})
	}
}
