package csvconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// Defaults of the configuration keys.
const (
	defaultSampleRows = 1000
	// defaultMaxRows and defaultMaxBytes cap a page when the host asks for
	// no limit: 65536 rows or about 8 MiB of Arrow data, the protocol's
	// default page size.
	defaultMaxRows  = 65536
	defaultMaxBytes = 8 << 20
)

// config is a validated configuration.
type config struct {
	Path       string
	HasHeader  bool
	Delimiter  byte
	Quote      byte
	Latin1     bool // encoding latin-1; otherwise utf-8
	Encoding   string
	NullValues []string
	// Types holds the explicit column types, by column name.
	Types      map[string]coltype.Type
	SampleRows int
	// InferDecimals types columns of plain decimals with one number of
	// fraction digits as decimal (infer_decimals; default true).
	InferDecimals bool
	// Parse holds sub_microsecond (truncate timestamps or refuse them).
	Parse coltype.ParseOptions
	// MaxRecordBytes caps one record's bytes (max_record_bytes); a
	// source fails on a longer record. A destination ignores it.
	MaxRecordBytes int64
}

var allowedKeys = []string{"path", "has_header", "delimiter", "encoding", "quote_char", "null_values", "columns", "schema", "sample_rows", "infer_decimals", "sub_microsecond", "max_record_bytes"}

// configSchema is the JSON Schema of the configuration, reported in Spec.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "csv connector",
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"type": "string", "description": "Source: a file, a directory or a glob. Destination: a directory (the flow's target names the file) or a single .csv file."},
    "has_header": {"type": "boolean", "default": true, "description": "The first line holds the column names (read) / write a header line (write)."},
    "delimiter": {"type": "string", "default": ",", "minLength": 1, "maxLength": 2, "description": "One ASCII character; \"\\t\" or \"tab\" for a tab."},
    "encoding": {"type": "string", "default": "utf-8", "enum": ["utf-8", "utf8", "latin-1", "latin1", "iso-8859-1"]},
    "quote_char": {"type": "string", "default": "\"", "minLength": 1, "maxLength": 1},
    "null_values": {"type": "array", "items": {"type": "string"}, "default": [""], "description": "Unquoted values read as null; the first one is written for null."},
    "columns": {"$ref": "#/$defs/columns"},
    "schema": {"$ref": "#/$defs/columns", "description": "Alias of columns."},
    "sample_rows": {"type": "integer", "minimum": 1, "default": 1000, "description": "Rows of the first file used to infer column types."},
    "infer_decimals": {"type": "boolean", "default": true, "description": "Infer decimal(38,s) for a column whose values all have s fraction digits (12.50); false infers float64 as before. See docs/types.md."},
    "sub_microsecond": {"type": "string", "enum": ["error", "truncate"], "default": "error", "description": "A timestamp with non-zero digits below the microsecond: error (naming its line and column) or truncate (drop them)."},
    "max_record_bytes": {"type": "integer", "minimum": 1024, "maximum": 1073741824, "default": 67108864, "description": "Source: the most bytes one record (a line, or lines joined by a quoted field) may take; a longer one fails the read, naming the file and line."}
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

// parseConfig validates raw. Problems come back as field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	cfg := config{HasHeader: true, Delimiter: ',', Quote: '"', Encoding: "utf-8", NullValues: []string{""}, SampleRows: defaultSampleRows, InferDecimals: true, MaxRecordBytes: recordsize.Default}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(nonEmpty(raw), &fields); err != nil || fields == nil {
		return cfg, []sdk.FieldError{{Message: "the csv configuration must be a JSON object with at least \"path\""}}
	}
	var errs []sdk.FieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: key, Message: fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fields[k]
		switch k {
		case "path":
			if !decode(v, &cfg.Path) || cfg.Path == "" {
				bad(k, "must be a non-empty string (a file, directory or glob)")
			}
		case "has_header":
			if !decode(v, &cfg.HasHeader) {
				bad(k, "must be a boolean (true or false), got %s", v)
			}
		case "delimiter":
			var s string
			if !decode(v, &s) {
				bad(k, "must be a string of one character, got %s", v)
			} else if c, ok := oneASCII(s); ok {
				cfg.Delimiter = c
			} else {
				bad(k, "must be one ASCII character (or \"\\t\" / \"tab\"), got %q", s)
			}
		case "quote_char":
			var s string
			if !decode(v, &s) {
				bad(k, "must be a string of one character, got %s", v)
			} else if c, ok := oneASCII(s); ok && s != "\\t" && s != "tab" {
				cfg.Quote = c
			} else {
				bad(k, "must be one ASCII character, got %q", s)
			}
		case "encoding":
			var s string
			if !decode(v, &s) {
				bad(k, "must be a string, got %s", v)
				break
			}
			switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
			case "utf-8", "utf8":
				cfg.Latin1, cfg.Encoding = false, "utf-8"
			case "latin-1", "latin1", "iso-8859-1", "iso8859-1":
				cfg.Latin1, cfg.Encoding = true, "latin-1"
			default:
				bad(k, "unsupported encoding %q; allowed: utf-8 (utf8), latin-1 (latin1, iso-8859-1)", s)
			}
		case "null_values":
			var list []string
			if !decode(v, &list) {
				var one string
				if !decode(v, &one) {
					bad(k, "must be a list of strings, got %s", v)
					break
				}
				list = []string{one}
			}
			cfg.NullValues = list
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
		case "sample_rows":
			var n int
			if !decode(v, &n) || n < 1 {
				bad(k, "must be a positive integer, got %s", v)
			} else {
				cfg.SampleRows = n
			}
		case "infer_decimals":
			if !decode(v, &cfg.InferDecimals) {
				bad(k, "must be a boolean (true or false), got %s", v)
			}
		case coltype.SubMicrosecondKey:
			truncate, msg := coltype.ParseSubMicrosecond(v)
			if msg != "" {
				bad(k, "%s", msg)
			}
			cfg.Parse.TruncateTimestamps = truncate
		case recordsize.Key:
			n, msg := recordsize.Parse(v)
			if msg != "" {
				bad(k, "%s", msg)
			}
			cfg.MaxRecordBytes = n
		default:
			bad(k, "%s", configkey.Unknown(k, allowedKeys))
		}
	}
	if _, ok := fields["path"]; !ok {
		bad("path", "is required: a file, directory or glob for a source, a directory for a destination")
	}
	if cfg.Delimiter == cfg.Quote {
		bad("quote_char", "must differ from the delimiter %q", cfg.Delimiter)
	}
	return cfg, errs
}

func nonEmpty(raw json.RawMessage) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("{}")
	}
	return raw
}

// decode unmarshals v into dst strictly (a JSON null is refused).
func decode(v json.RawMessage, dst any) bool {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return false
	}
	return json.Unmarshal(v, dst) == nil
}

func oneASCII(s string) (byte, bool) {
	switch s {
	case "\\t", "tab", "\t":
		return '\t', true
	}
	if len(s) != 1 || s[0] >= 0x80 || s[0] == '\n' || s[0] == '\r' {
		return 0, false
	}
	return s[0], true
}
