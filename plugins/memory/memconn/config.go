package memconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// DefaultTableName is the stream name of the source and the default target
// of the destination when table_name is not set.
const DefaultTableName = "memory"

// config is one validated configuration. It is immutable once built, so a
// ReadPage running while Configure replaces it keeps a consistent view.
type config struct {
	tableName string
	data      dataset // nil when neither rows nor generate is set
	faults    *faultConfig
	dumpPath  string
	// stagingDir, when set, keeps staged batches on disk so a restarted
	// plugin process finds them (see staging.go).
	stagingDir string
}

// configSchema is the JSON Schema (draft 2020-12) of the connector's config.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "memory connector",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "table_name": {"type": "string", "minLength": 1, "default": "memory",
      "description": "Stream name of the source; default target of the destination."},
    "rows": {"type": "array", "items": {"type": "object"},
      "description": "Inline source rows; the schema is inferred (int64, float64, bool, string)."},
    "generate": {
      "type": "object", "additionalProperties": false, "required": ["rows"],
      "description": "Seeded generator with a fixed schema (see docs/connectors/memory.md).",
      "properties": {
        "rows": {"type": "integer", "minimum": 0},
        "seed": {"type": "integer", "default": 0}
      }
    },
    "faults": {
      "type": "object", "additionalProperties": false,
      "description": "Fault injection on ReadPage, to try a pipeline's resilience settings.",
      "properties": {
        "seed": {"type": "integer", "default": 0},
        "transient": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
        "rate_limited": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
        "retry_after": {"type": "number", "minimum": 0, "default": 0},
        "latency": {"type": "number", "minimum": 0, "default": 0},
        "permanent_at_page": {"type": "integer", "minimum": 0, "default": 0},
        "auth_file": {"type": "string", "description": "A credential file read at every Configure."},
        "revoked_file": {"type": "string", "description": "Read at every page: while it names the credential read from auth_file at Configure, page reads fail AUTH_EXPIRED."}
      }
    },
    "dump_path": {"type": "string", "minLength": 1,
      "description": "Testing aid: after each commit, write the committed table as an Arrow IPC file here ({table} is replaced by the table name)."},
    "staging_dir": {"type": "string", "minLength": 1,
      "description": "Keep staged batches in this directory (one Arrow IPC file per seq) so a restarted plugin process finds the batches written before it died."}
  },
  "not": {"required": ["rows", "generate"]}
}`

var topKeys = []string{"dump_path", "faults", "generate", "rows", "staging_dir", "table_name"}

// parseConfig validates raw and returns the config, or the field errors.
func parseConfig(raw json.RawMessage) (*config, []sdk.FieldError) {
	cfg := &config{tableName: DefaultTableName}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return cfg, nil
	}
	var errs fieldErrors
	obj, ok := errs.object("", raw, topKeys)
	if !ok {
		return nil, errs
	}
	if v, ok := obj["table_name"]; ok {
		if s, ok := errs.str("table_name", v); ok {
			cfg.tableName = s
		}
	}
	if v, ok := obj["dump_path"]; ok {
		if s, ok := errs.str("dump_path", v); ok {
			cfg.dumpPath = s
		}
	}
	if v, ok := obj["staging_dir"]; ok {
		if s, ok := errs.str("staging_dir", v); ok {
			cfg.stagingDir = s
		}
	}
	_, hasRows := obj["rows"]
	_, hasGen := obj["generate"]
	switch {
	case hasRows && hasGen:
		errs.add("generate", "rows and generate are mutually exclusive; set one of them")
	case hasRows:
		if d, ok := parseInlineRows(&errs, obj["rows"]); ok {
			cfg.data = d
		}
	case hasGen:
		if g, ok := parseGenerate(&errs, obj["generate"]); ok {
			cfg.data = g
		}
	}
	if v, ok := obj["faults"]; ok {
		if f, ok := parseFaults(&errs, v); ok {
			cfg.faults = f
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

func parseGenerate(errs *fieldErrors, raw json.RawMessage) (*generator, bool) {
	obj, ok := errs.object("generate", raw, []string{"rows", "seed"})
	if !ok {
		return nil, false
	}
	n0 := len(*errs)
	var rows, seed int64
	if v, ok := obj["rows"]; ok {
		rows, _ = errs.integer("generate.rows", v, 0)
	} else {
		errs.add("generate.rows", "is required: the number of rows to generate (an integer ≥ 0)")
	}
	if v, ok := obj["seed"]; ok {
		seed, _ = errs.integer("generate.seed", v, math.MinInt64)
	}
	if len(*errs) > n0 {
		return nil, false
	}
	return newGenerator(rows, seed), true
}

func parseFaults(errs *fieldErrors, raw json.RawMessage) (*faultConfig, bool) {
	obj, ok := errs.object("faults", raw,
		[]string{"auth_file", "latency", "permanent_at_page", "rate_limited", "retry_after", "revoked_file", "seed", "transient"})
	if !ok {
		return nil, false
	}
	n0 := len(*errs)
	f := &faultConfig{}
	share := func(key string, dst *float64) {
		if v, ok := obj[key]; ok {
			if x, ok := errs.number("faults."+key, v); ok {
				if x < 0 || x > 1 {
					errs.add("faults."+key, fmt.Sprintf("is %s; a share of ReadPage calls must be between 0 and 1", fmtNum(x)))
					return
				}
				*dst = x
			}
		}
	}
	seconds := func(key string, dst *float64) {
		if v, ok := obj[key]; ok {
			if x, ok := errs.number("faults."+key, v); ok {
				if x < 0 || x > 3600 {
					errs.add("faults."+key, fmt.Sprintf("is %s; seconds must be between 0 and 3600", fmtNum(x)))
					return
				}
				*dst = x
			}
		}
	}
	share("transient", &f.transient)
	share("rate_limited", &f.rateLimited)
	seconds("retry_after", &f.retryAfter)
	seconds("latency", &f.latency)
	if v, ok := obj["permanent_at_page"]; ok {
		f.permanentAtPage, _ = errs.integer("faults.permanent_at_page", v, 0)
	}
	if v, ok := obj["seed"]; ok {
		f.seed, _ = errs.integer("faults.seed", v, math.MinInt64)
	}
	if v, ok := obj["revoked_file"]; ok {
		f.revokedFile, _ = errs.str("faults.revoked_file", v)
	}
	if v, ok := obj["auth_file"]; ok {
		if path, ok := errs.str("faults.auth_file", v); ok {
			// Read at every Configure, so a refreshed credential is seen.
			data, err := os.ReadFile(path)
			if err != nil {
				errs.add("faults.auth_file", filestage.FileError(err, "cannot read", path).Error())
			} else {
				f.authFile, f.credential = path, strings.TrimSpace(string(data))
			}
		}
	}
	if f.revokedFile != "" && f.authFile == "" {
		errs.add("faults.revoked_file", "needs faults.auth_file, the credential file whose value it revokes")
	}
	if len(*errs) == n0 && f.transient+f.rateLimited > 1 {
		errs.add("faults.rate_limited", fmt.Sprintf("faults.transient (%s) + faults.rate_limited (%s) is more than 1; together they are a share of ReadPage calls",
			fmtNum(f.transient), fmtNum(f.rateLimited)))
	}
	if len(*errs) > n0 {
		return nil, false
	}
	return f, true
}

// fieldErrors collects field errors; its helpers decode one JSON value each
// and record a FieldError naming the field when the value has the wrong type.
type fieldErrors []sdk.FieldError

func (e *fieldErrors) add(field, msg string) {
	*e = append(*e, sdk.FieldError{Field: field, Message: msg})
}

// jsonKind names the JSON type of raw for messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// object decodes a JSON object and reports every key outside allowed.
func (e *fieldErrors) object(field string, raw json.RawMessage, allowed []string) (map[string]json.RawMessage, bool) {
	if jsonKind(raw) != "an object" {
		what := "the memory connector's config"
		if field != "" {
			what = "this key"
		}
		e.add(field, fmt.Sprintf("%s must be an object with keys %s, got %s", what, strings.Join(allowed, ", "), jsonKind(raw)))
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		e.add(field, "is not a valid JSON object: "+err.Error())
		return nil, false
	}
	keys := make([]string, 0, len(obj))
	for k, v := range obj {
		if jsonKind(v) == "null" { // a key set to nothing is the same as leaving it out
			delete(obj, k)
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(allowed, k) {
			e.add(join(field, k), configkey.Unknown(k, allowed))
		}
	}
	return obj, true
}

func (e *fieldErrors) str(field string, raw json.RawMessage) (string, bool) {
	var s string
	if jsonKind(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		e.add(field, "must be a string, got "+jsonKind(raw))
		return "", false
	}
	if s == "" {
		e.add(field, "must not be empty")
		return "", false
	}
	return s, true
}

func (e *fieldErrors) number(field string, raw json.RawMessage) (float64, bool) {
	var x float64
	if jsonKind(raw) != "a number" || json.Unmarshal(raw, &x) != nil {
		e.add(field, "must be a number, got "+jsonKind(raw))
		return 0, false
	}
	return x, true
}

// integer decodes an integer ≥ min. An integral float such as 1e+06 (which
// a YAML-to-JSON step may produce) is accepted.
func (e *fieldErrors) integer(field string, raw json.RawMessage, min int64) (int64, bool) {
	if jsonKind(raw) != "a number" {
		e.add(field, "must be an integer, got "+jsonKind(raw))
		return 0, false
	}
	s := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			e.add(field, fmt.Sprintf("must be an integer, got %s", s))
			return 0, false
		}
		n = int64(f)
	}
	if n < min {
		e.add(field, fmt.Sprintf("is %d; it must be at least %d", n, min))
		return 0, false
	}
	return n, true
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
