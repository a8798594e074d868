package sheetsconn

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
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

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	SpreadsheetID   spreadsheetID    `config:"spreadsheet_id,required" doc:"the spreadsheet's ID (the part of its URL after /d/), or its whole URL"`
	SheetName       string           `config:"sheet_name,required,nonempty" msg:"must be a non-empty string: the name of the sheet (tab), e.g. Sheet1" doc:"the sheet (tab) read by default; range applies to it"`
	CredentialsFile string           `config:"credentials_file,nonempty" msg:"must be a non-empty string: the path of a service account JSON key file" doc:"A service account JSON key file; re-read at every Configure."`
	CredentialsJSON *credentialsJSON `config:"credentials_json" doc:"The service account JSON key itself, typically ${VAR} from the environment."`
	APIKey          sdkconfig.Secret `config:"api_key,nonempty" msg:"must be a non-empty string: a Google Cloud API key (for sheets shared with anyone who has the link)"`
	Range           string           `config:"range,nonempty" msg:"must be a non-empty A1 range string such as A1:F or B3:H500" doc:"A1 range within sheet_name, e.g. A1:F or B3:H500; its first row is the header when has_header."`
	HasHeader       bool             `config:"has_header" default:"true"`
	Columns         coltype.Columns  `config:"columns" alias:"schema"`
	// page_size: about 1,000 rows keeps a response near Google's
	// recommended 2 MB payload for typical sheets; the bound, 100,000,
	// because a request over 180 s of processing fails.
	PageSize      int64  `config:"page_size" default:"1000" min:"1" max:"100000" doc:"Rows per request."`
	SampleRows    int64  `config:"sample_rows" default:"500" min:"1" max:"100000" doc:"Rows read to infer column types."`
	InferDecimals bool   `config:"infer_decimals" default:"true" doc:"A column of text cells that all have s fraction digits (12.50) is decimal(38,s); false makes it float64. Number cells are int64 or float64 either way. See docs/types.md."`
	Endpoint      string `config:"endpoint" default:"https://sheets.googleapis.com/" doc:"The API's base URL, for a proxy or a test server."`
}

// spreadsheetID is a spreadsheet's ID, also read from its URL.
type spreadsheetID string

// UnmarshalConfig reads an ID or a docs.google.com/spreadsheets/d/... URL.
func (id *spreadsheetID) UnmarshalConfig(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" {
		return errors.New("must be a non-empty string: the spreadsheet's ID (the part of its URL after /d/) or its URL")
	}
	s = strings.TrimSpace(s)
	if m := spreadsheetURLRe.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if !spreadsheetIDRe.MatchString(s) {
		return fmt.Errorf("%q is not a spreadsheet ID (letters, digits, - and _) or a docs.google.com/spreadsheets/d/... URL", s)
	}
	*id = spreadsheetID(s)
	return nil
}

// ConfigSchema describes the key.
func (spreadsheetID) ConfigSchema() map[string]any { return map[string]any{"type": "string"} }

// credentialsJSON is a JSON key given as a string or as a mapping; it is
// never echoed.
type credentialsJSON []byte

// UnmarshalConfig keeps the key's JSON text.
func (c *credentialsJSON) UnmarshalConfig(raw json.RawMessage) error {
	var s string
	switch {
	case json.Unmarshal(raw, &s) == nil:
	case len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '{':
		s = string(raw)
	default:
		return errors.New("must be the service account JSON key, as a string (e.g. ${GOOGLE_SHEETS_KEY}) or a mapping")
	}
	*c = credentialsJSON(s)
	return nil
}

// ConfigSchema describes the key.
func (credentialsJSON) ConfigSchema() map[string]any {
	return map[string]any{"type": []string{"string", "object"}, "writeOnly": true}
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
var configSchema = sdkconfig.Schema(keys{})

// spreadsheetURLRe finds the ID in a spreadsheet's URL.
var spreadsheetURLRe = regexp.MustCompile(`/spreadsheets/d/([A-Za-z0-9_-]+)`)

// spreadsheetIDRe is what a spreadsheet ID looks like.
var spreadsheetIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// parseConfig validates raw, reading credentials_file. Problems come back
// as field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	var k keys
	errs := sdkconfig.Errors((sdkconfig.Decoder{Name: "gsheets"}).Decode(raw, &k))
	bad := errs.Addf
	cfg := config{SpreadsheetID: string(k.SpreadsheetID), SheetName: k.SheetName, HasHeader: k.HasHeader, Types: k.Columns,
		PageSize: k.PageSize, SampleRows: k.SampleRows, InferDecimals: k.InferDecimals}
	var credKeys []string
	if k.APIKey != "" {
		credKeys = append(credKeys, "api_key")
		cfg.APIKey, cfg.Auth = strings.TrimSpace(k.APIKey.Value()), authAPIKey
	}
	if path := k.CredentialsFile; path != "" {
		credKeys = append(credKeys, "credentials_file")
		if data, err := os.ReadFile(path); err != nil {
			bad("credentials_file", "%s", filestage.FileError(err, "cannot read the credentials file", path))
		} else {
			cfg.CredentialsFile, cfg.Auth = path, authServiceJSON
			if msg := cfg.setKey(data); msg != "" {
				bad("credentials_file", "%s %s", filestage.Show(path), msg)
			}
		}
	}
	if k.CredentialsJSON != nil {
		credKeys = append(credKeys, "credentials_json")
		cfg.Auth = authServiceJSON
		if msg := cfg.setKey(*k.CredentialsJSON); msg != "" {
			bad("credentials_json", "the value %s", msg)
		}
	}
	if s := strings.TrimSpace(k.Range); s != "" {
		r, sheet, err := parseA1Range(s)
		switch {
		case err != nil:
			bad("range", "%v", err)
		case sheet != "" && k.SheetName != "" && k.SheetName != sheet:
			bad("range", "names sheet %q, but sheet_name is %q; write the range without the sheet (e.g. %s)", sheet, k.SheetName, r)
		default:
			cfg.Range = &r
		}
	}
	if u, err := url.Parse(strings.TrimSpace(k.Endpoint)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad("endpoint", "must be an absolute http:// or https:// URL without a query, got %q", k.Endpoint)
	} else {
		cfg.Endpoint = strings.TrimRight(u.String(), "/") + "/"
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
