package s3conn

import (
	"encoding/json"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk/coltype"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// defaultSampleRows is how many rows of the first csv object are sampled
// to infer column types when csv_sample_rows is not set.
const defaultSampleRows = 1000

// parseSourceConfig reads the source keys compression, csv_infer_types,
// csv_columns, csv_sample_rows, infer_decimals, csv_null_values,
// sub_microsecond and max_record_bytes from m into cfg,
// reporting problems through bad.
func parseSourceConfig(m map[string]json.RawMessage, cfg *config, bad func(field, format string, args ...any)) {
	if v, ok := m["compression"]; ok {
		var s string
		_ = json.Unmarshal(v, &s)
		switch strings.ToLower(s) {
		case "auto", "gzip", "none":
			cfg.Compression = strings.ToLower(s)
		default:
			bad("compression", "must be auto (gzip when the key ends in .gz), gzip or none, got %s", v)
		}
	}
	if v, ok := m["csv_infer_types"]; ok {
		if err := json.Unmarshal(v, &cfg.InferTypes); err != nil || string(v) == "null" {
			bad("csv_infer_types", "must be true or false, got %s", v)
		}
	}
	if v, ok := m["csv_columns"]; ok {
		types, msg := coltype.ParseColumns(v)
		if msg != "" {
			bad("csv_columns", "%s", msg)
		}
		cfg.Types = types
	}
	if v, ok := m["infer_decimals"]; ok {
		if err := json.Unmarshal(v, &cfg.InferDecimals); err != nil || string(v) == "null" {
			bad("infer_decimals", "must be true or false, got %s", v)
		}
	}
	if v, ok := m["csv_null_values"]; ok {
		var list []string
		if err := json.Unmarshal(v, &list); err != nil || list == nil {
			bad("csv_null_values", `must be a list of strings (the fields read as null, e.g. ["\N", ""]), got %s`, v)
		} else {
			cfg.NullValues = list
		}
	}
	if v, ok := m[coltype.SubMicrosecondKey]; ok {
		truncate, msg := coltype.ParseSubMicrosecond(v)
		if msg != "" {
			bad(coltype.SubMicrosecondKey, "%s", msg)
		}
		cfg.Parse.TruncateTimestamps = truncate
	}
	if v, ok := m["csv_sample_rows"]; ok {
		if err := json.Unmarshal(v, &cfg.SampleRows); err != nil || cfg.SampleRows < 1 {
			bad("csv_sample_rows", "must be a positive integer, got %s", v)
		}
	}
	if v, ok := m[recordsize.Key]; ok {
		n, msg := recordsize.Parse(v)
		if msg != "" {
			bad(recordsize.Key, "%s", msg)
		}
		cfg.MaxRecordBytes = n
	}
}

// isNull reports whether a csv field is one of csv_null_values. The
// csv reader does not tell a quoted field from an unquoted one, so
// "" and an empty field are alike.
func isNull(cfg config, v string) bool {
	for _, n := range cfg.NullValues {
		if v == n {
			return true
		}
	}
	return false
}

// compressed reports whether the object key is read through gzip: with
// compression auto when the key ends in .gz (any case).
func compressed(cfg config, key string) bool {
	switch cfg.Compression {
	case "gzip":
		return true
	case "none":
		return false
	}
	return strings.HasSuffix(strings.ToLower(key), ".gz")
}

// sourceFormatOf is formatOf for source objects: the extension before a
// trailing .gz names the format (orders.csv.gz is csv).
func sourceFormatOf(key string) string {
	return formatOf(strings.TrimSuffix(strings.ToLower(key), ".gz"))
}
