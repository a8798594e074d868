package sheetsconn

import (
	"github.com/sqlflow/sqlflow-host/sdk/coltype"

	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// Defaults of the configuration keys.
const (
	// defaultPageSize is how many rows one values.get request asks for:
	// about 1,000 rows keeps a response near Google's recommended 2 MB
	// payload for typical sheets, and 25,000 rows cost 25 requests.
	defaultPageSize = 1000
	// maxPageSize bounds page_size: Google recommends payloads under 2 MB
	// and a request over 180 s of processing fails.
	maxPageSize = 100_000
	// defaultSampleRows is how many data rows Discover and the first page
	// look at to infer column types.
	defaultSampleRows = 500
	// defaultEndpoint is the Sheets API's base URL.
	defaultEndpoint = "https://sheets.googleapis.com/"
)

// authKind says how requests are authorized.
type authKind int

const (
	authDefault     authKind = iota // application default credentials
	authServiceJSON                 // a service account (or authorized user) key
	authAPIKey                      // an API key (public sheets)
)

// config is a validated configuration.
type config struct {
	SpreadsheetID string
	SheetName     string
	// Range is the range key, parsed; nil means the whole sheet.
	Range     *a1Range
	HasHeader bool
	// Types holds the explicit column types, by column name.
	Types      map[string]coltype.Type
	PageSize   int64
	SampleRows int64
	Endpoint   string
	// InferDecimals lets a column of text cells that are decimals of one
	// scale be a decimal (infer_decimals; default true).
	InferDecimals bool

	Auth authKind
	// KeyJSON is the credentials JSON (from credentials_file or
	// credentials_json); CredentialsFile names its file, if any.
	KeyJSON         []byte
	CredentialsFile string
	// ClientEmail is the service account's email, from the key.
	ClientEmail string
	APIKey      string
}

var allowedKeys = []string{
	"spreadsheet_id", "sheet_name", "credentials_file", "credentials_json", "api_key",
	"range", "has_header", "columns", "schema", "page_size", "sample_rows", "infer_decimals", "endpoint",
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "gsheets connector",
  "type": "object",
  "additionalProperties": false,
  "required": ["spreadsheet_id", "sheet_name"],
  "properties": {
    "spreadsheet_id": {"type": "string", "description": "The spreadsheet's ID (the part of its URL after /d/), or its whole URL."},
    "sheet_name": {"type": "string", "description": "The sheet (tab) read by default; range applies to it."},
    "credentials_file": {"type": "string", "description": "A service account JSON key file; re-read at every Configure."},
    "credentials_json": {"type": ["string", "object"], "description": "The service account JSON key itself, typically ${VAR} from the environment."},
    "api_key": {"type": "string", "description": "An API key, for sheets shared with anyone who has the link."},
    "range": {"type": "string", "description": "A1 range within sheet_name, e.g. A1:F or B3:H500; its first row is the header when has_header."},
    "has_header": {"type": "boolean", "default": true},
    "columns": {"$ref": "#/$defs/columns"},
    "schema": {"$ref": "#/$defs/columns", "description": "Alias of columns."},
    "page_size": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1000, "description": "Rows per request."},
    "sample_rows": {"type": "integer", "minimum": 1, "default": 500, "description": "Rows read to infer column types."},
    "infer_decimals": {"type": "boolean", "default": true, "description": "A column of text cells that all have s fraction digits (12.50) is decimal(38,s); false makes it float64. Number cells are int64 or float64 either way. See docs/types.md."},
    "endpoint": {"type": "string", "default": "https://sheets.googleapis.com/", "description": "The API's base URL, for a proxy or a test server."}
  },
  "$defs": {
    "type": ` + coltype.TypeSchema + `,
    "columns": {
      "description": "Explicit column types; columns not listed are inferred. Either a map of name to type or a list of {name, type}.",
      "oneOf": [
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/type"}},
        {"type": "array", "items": {"type": "object", "required": ["name", "type"], "properties": {"name": {"type": "string"}, "type": {"$ref": "#/$defs/type"}}, "additionalProperties": false}}
      ]
    }
  }
}`

// spreadsheetURLRe finds the ID in a spreadsheet's URL.
var spreadsheetURLRe = regexp.MustCompile(`/spreadsheets/d/([A-Za-z0-9_-]+)`)

// spreadsheetIDRe is what a spreadsheet ID looks like.
var spreadsheetIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// parseConfig validates raw, reading credentials_file. Problems come back
// as field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	cfg := config{HasHeader: true, PageSize: defaultPageSize, SampleRows: defaultSampleRows, InferDecimals: true, Endpoint: defaultEndpoint}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(nonEmpty(raw), &fields); err != nil || fields == nil {
		return cfg, []sdk.FieldError{{Message: "the gsheets configuration must be a JSON object with at least \"spreadsheet_id\" and \"sheet_name\""}}
	}
	var errs []sdk.FieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: key, Message: fmt.Sprintf(format, args...)})
	}
	var credKeys []string
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fields[k]
		switch k {
		case "spreadsheet_id":
			var s string
			if !decode(v, &s) || strings.TrimSpace(s) == "" {
				bad(k, "must be a non-empty string: the spreadsheet's ID (the part of its URL after /d/) or its URL")
				break
			}
			s = strings.TrimSpace(s)
			if m := spreadsheetURLRe.FindStringSubmatch(s); m != nil {
				s = m[1]
			}
			if !spreadsheetIDRe.MatchString(s) {
				bad(k, "%q is not a spreadsheet ID (letters, digits, - and _) or a docs.google.com/spreadsheets/d/... URL", s)
				break
			}
			cfg.SpreadsheetID = s
		case "sheet_name":
			if !decode(v, &cfg.SheetName) || cfg.SheetName == "" {
				bad(k, "must be a non-empty string: the name of the sheet (tab), e.g. Sheet1")
			}
		case "credentials_file":
			credKeys = append(credKeys, k)
			var path string
			if !decode(v, &path) || path == "" {
				bad(k, "must be a non-empty string: the path of a service account JSON key file")
				break
			}
			data, err := os.ReadFile(path)
			if err != nil {
				bad(k, "%s", filestage.FileError(err, "cannot read the credentials file", path))
				break
			}
			cfg.CredentialsFile, cfg.Auth = path, authServiceJSON
			if msg := cfg.setKey(data); msg != "" {
				bad(k, "%s %s", filestage.Show(path), msg)
			}
		case "credentials_json":
			credKeys = append(credKeys, k)
			var s string
			switch {
			case decode(v, &s):
			case len(bytes.TrimSpace(v)) > 0 && bytes.TrimSpace(v)[0] == '{':
				s = string(v)
			default:
				bad(k, "must be the service account JSON key, as a string (e.g. ${GOOGLE_SHEETS_KEY}) or a mapping")
				continue
			}
			cfg.Auth = authServiceJSON
			if msg := cfg.setKey([]byte(s)); msg != "" {
				bad(k, "the value %s", msg)
			}
		case "api_key":
			credKeys = append(credKeys, k)
			if !decode(v, &cfg.APIKey) || strings.TrimSpace(cfg.APIKey) == "" {
				bad(k, "must be a non-empty string: a Google Cloud API key (for sheets shared with anyone who has the link)")
				break
			}
			cfg.APIKey = strings.TrimSpace(cfg.APIKey)
			cfg.Auth = authAPIKey
		case "range":
			var s string
			if !decode(v, &s) || strings.TrimSpace(s) == "" {
				bad(k, "must be a non-empty A1 range string such as A1:F or B3:H500")
				break
			}
			r, sheet, err := parseA1Range(strings.TrimSpace(s))
			if err != nil {
				bad(k, "%v", err)
				break
			}
			if sheet != "" {
				if n, ok := fields["sheet_name"]; ok {
					var name string
					if decode(n, &name) && name != sheet {
						bad(k, "names sheet %q, but sheet_name is %q; write the range without the sheet (e.g. %s)", sheet, name, r)
						break
					}
				}
			}
			cfg.Range = &r
		case "has_header":
			if !decode(v, &cfg.HasHeader) {
				bad(k, "must be a boolean (true or false), got %s", v)
			}
		case "columns", "schema":
			if _, both := fields["columns"]; both && k == "schema" {
				bad(k, "set either columns or schema (an alias), not both")
				break
			}
			types, msg := coltype.ParseColumns(v)
			if msg != "" {
				bad(k, "%s", msg)
			}
			cfg.Types = types
		case "page_size":
			var n int64
			if !decode(v, &n) || n < 1 || n > maxPageSize {
				bad(k, "must be an integer from 1 to %d (rows per request), got %s", maxPageSize, v)
				break
			}
			cfg.PageSize = n
		case "sample_rows":
			var n int64
			if !decode(v, &n) || n < 1 || n > maxPageSize {
				bad(k, "must be an integer from 1 to %d, got %s", maxPageSize, v)
				break
			}
			cfg.SampleRows = n
		case "infer_decimals":
			if !decode(v, &cfg.InferDecimals) {
				bad(k, "must be a boolean (true or false), got %s", v)
			}
		case "endpoint":
			var s string
			if !decode(v, &s) {
				bad(k, "must be a string, the API's base URL, got %s", v)
				break
			}
			u, err := url.Parse(strings.TrimSpace(s))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
				bad(k, "must be an absolute http:// or https:// URL without a query, got %q", s)
				break
			}
			cfg.Endpoint = strings.TrimRight(u.String(), "/") + "/"
		default:
			bad(k, "%s", configkey.Unknown(k, allowedKeys))
		}
	}
	for _, k := range []string{"spreadsheet_id", "sheet_name"} {
		if _, ok := fields[k]; !ok {
			bad(k, "is required")
		}
	}
	if len(credKeys) > 1 {
		bad(credKeys[1], "set only one of credentials_file, credentials_json and api_key (got %s)", strings.Join(credKeys, " and "))
	}
	return cfg, errs
}

// setKey checks a credentials JSON and keeps it; it returns what is wrong
// with it, or "".
func (cfg *config) setKey(data []byte) string {
	var key struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		ClientID     string `json:"client_id"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(data, &key); err != nil {
		return fmt.Sprintf("is not a JSON key (%v); download one from the service account's Keys tab in the Google Cloud console", jsonProblem(err))
	}
	switch key.Type {
	case "service_account":
		if key.ClientEmail == "" {
			return "is a service account key without client_email"
		}
		block, _ := pem.Decode([]byte(key.PrivateKey))
		if block == nil {
			return "is a service account key whose private_key is not PEM"
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			if _, err1 := x509.ParsePKCS1PrivateKey(block.Bytes); err1 != nil {
				return fmt.Sprintf("is a service account key whose private_key cannot be parsed: %v", err)
			}
		}
		cfg.ClientEmail = key.ClientEmail
	case "authorized_user":
		if key.ClientID == "" || key.RefreshToken == "" {
			return "is an authorized_user credential without client_id or refresh_token"
		}
	case "":
		return "has no \"type\"; expected a service account key (\"type\": \"service_account\")"
	default:
		return fmt.Sprintf("is a credential of type %q; expected a service account key (\"service_account\") or gcloud user credentials (\"authorized_user\")", key.Type)
	}
	cfg.KeyJSON = data
	return ""
}

// jsonProblem describes a JSON syntax error without quoting the input
// (which holds a private key).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	return "not a JSON object"
}

func nonEmpty(raw json.RawMessage) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("{}")
	}
	return raw
}

// decode unmarshals v into dst strictly (a JSON null is refused).
func decode(v json.RawMessage, dst any) bool {
	if len(v) == 0 || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return false
	}
	return json.Unmarshal(v, dst) == nil
}
