package csvconn

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// Defaults of the configuration keys.
const (
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

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	Path          string                 `config:"path,required,nonempty" doc:"a file, directory or glob for a source, a directory (the flow's target names the file) or a single .csv file for a destination" msg:"must be a non-empty string (a file, directory or glob)"`
	HasHeader     bool                   `config:"has_header" default:"true" doc:"The first line holds the column names (read) / write a header line (write)."`
	Delimiter     char                   `config:"delimiter" default:"," doc:"One ASCII character; \"\\t\" or \"tab\" for a tab."`
	Encoding      encoding               `config:"encoding" default:"utf-8"`
	Quote         quoteChar              `config:"quote_char" default:"\""`
	NullValues    []string               `config:"null_values,single" default:"[\"\"]" doc:"Unquoted values read as null; the first one is written for null."`
	Columns       coltype.Columns        `config:"columns" alias:"schema"`
	SampleRows    int                    `config:"sample_rows" default:"1000" min:"1" doc:"Rows of the first file used to infer column types."`
	InferDecimals bool                   `config:"infer_decimals" default:"true" doc:"Infer decimal(38,s) for a column whose values all have s fraction digits (12.50); false infers float64 as before. See docs/types.md."`
	SubMicro      coltype.SubMicrosecond `config:"sub_microsecond" default:"error"`
	MaxRecord     recordsize.Bytes       `config:"max_record_bytes" default:"67108864"`
}

// ValidateConfig checks that the delimiter and the quote differ.
func (k *keys) ValidateConfig() []sdk.FieldError {
	if k.Delimiter == char(k.Quote) {
		return []sdk.FieldError{{Field: "quote_char", Message: fmt.Sprintf("must differ from the delimiter %q", byte(k.Delimiter))}}
	}
	return nil
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
var configSchema = sdkconfig.Schema(keys{})

// parseConfig validates raw. Problems come back as field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	var k keys
	if errs := (sdkconfig.Decoder{Name: "csv"}).Decode(raw, &k); len(errs) > 0 {
		return config{}, errs
	}
	return config{
		Path: k.Path, HasHeader: k.HasHeader, Delimiter: byte(k.Delimiter), Quote: byte(k.Quote),
		Latin1: k.Encoding == "latin-1", Encoding: string(k.Encoding), NullValues: k.NullValues,
		Types: k.Columns, SampleRows: k.SampleRows, InferDecimals: k.InferDecimals,
		Parse: coltype.ParseOptions{TruncateTimestamps: bool(k.SubMicro)}, MaxRecordBytes: int64(k.MaxRecord),
	}, nil
}

// char is the delimiter: one ASCII character, "\t" or "tab" for a tab.
type char byte

// UnmarshalConfig reads one ASCII character.
func (c *char) UnmarshalConfig(raw json.RawMessage) error {
	b, err := asciiChar(raw, true)
	if err == nil {
		*c = char(b)
	}
	return err
}

// ConfigSchema describes the delimiter.
func (char) ConfigSchema() map[string]any {
	return map[string]any{"type": "string", "minLength": 1, "maxLength": 3}
}

// quoteChar is the quote: one ASCII character other than a tab.
type quoteChar byte

// UnmarshalConfig reads one ASCII character.
func (q *quoteChar) UnmarshalConfig(raw json.RawMessage) error {
	b, err := asciiChar(raw, false)
	if err == nil {
		*q = quoteChar(b)
	}
	return err
}

// ConfigSchema describes the quote.
func (quoteChar) ConfigSchema() map[string]any {
	return map[string]any{"type": "string", "minLength": 1, "maxLength": 1}
}

// asciiChar reads one ASCII character; with tab, "\t" and "tab" are a tab.
func asciiChar(raw json.RawMessage, tab bool) (byte, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, fmt.Errorf("must be a string of one character, got %s", raw)
	}
	b, ok := oneASCII(s)
	switch {
	case ok && (tab || s != "\\t" && s != "tab"):
		return b, nil
	case tab:
		return 0, fmt.Errorf("must be one ASCII character (or \"\\t\" / \"tab\"), got %q", s)
	}
	return 0, fmt.Errorf("must be one ASCII character, got %q", s)
}

// encoding is utf-8 or latin-1, read from any of their usual names.
type encoding string

// UnmarshalConfig reads an encoding's name.
func (e *encoding) UnmarshalConfig(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return fmt.Errorf("must be a string, got %s", raw)
	}
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "utf-8", "utf8":
		*e = "utf-8"
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1":
		*e = "latin-1"
	default:
		return fmt.Errorf("unsupported encoding %q; allowed: utf-8 (utf8), latin-1 (latin1, iso-8859-1)", s)
	}
	return nil
}

// ConfigSchema describes the encoding.
func (encoding) ConfigSchema() map[string]any {
	return map[string]any{"type": "string", "enum": []string{"utf-8", "utf8", "latin-1", "latin1", "iso-8859-1"}}
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
