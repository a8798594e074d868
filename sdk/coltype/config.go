package coltype

import (
	"encoding/json"

	"github.com/sqlflow/sqlflow-host/sdk/config"
)

// Columns is a configuration field of explicit column types, for a
// struct declared with package sdk/config: a JSON map of column name to
// type, or a list of {"name": …, "type": …} (see [ParseColumns]).
type Columns map[string]Type

// UnmarshalConfig reads the field's value; see [ParseColumns].
func (c *Columns) UnmarshalConfig(raw json.RawMessage) error {
	return config.Parsed((*map[string]Type)(c), raw, ParseColumns)
}

// ConfigSchema describes the field: a map of name to type, or a list of
// {name, type}.
func (Columns) ConfigSchema() map[string]any {
	var typ any
	_ = json.Unmarshal([]byte(TypeSchema), &typ)
	return map[string]any{
		"description": "Explicit column types; columns not listed are inferred. A map of column name to type, or a list of {name, type}.",
		"oneOf": []any{
			map[string]any{"type": "object", "additionalProperties": typ},
			map[string]any{"type": "array", "items": map[string]any{
				"type": "object", "required": []string{"name", "type"}, "additionalProperties": false,
				"properties": map[string]any{"name": map[string]any{"type": "string"}, "type": typ},
			}},
		},
	}
}

// SubMicrosecond is the sub_microsecond configuration field
// ([SubMicrosecondKey]) for a struct declared with package sdk/config:
// true when it is "truncate", false for "error" (declare default:"error").
type SubMicrosecond bool

// UnmarshalConfig reads "error" or "truncate"; see [ParseSubMicrosecond].
func (s *SubMicrosecond) UnmarshalConfig(raw json.RawMessage) error {
	return config.Parsed((*bool)(s), raw, ParseSubMicrosecond)
}

// ConfigSchema describes the field.
func (SubMicrosecond) ConfigSchema() map[string]any {
	return map[string]any{"type": "string", "enum": []string{"error", "truncate"},
		"description": "A timestamp with non-zero digits below the microsecond: error (naming its row and column) or truncate (drop them)."}
}
