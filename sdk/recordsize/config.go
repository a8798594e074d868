package recordsize

import (
	"encoding/json"

	"github.com/sqlflow/sqlflow-host/sdk/config"
)

// Bytes is the max_record_bytes configuration field ([Key]) for a struct
// declared with package sdk/config; declare default:"67108864" ([Default]).
type Bytes int64

// UnmarshalConfig reads an integer number of bytes from Min to Max; see
// [Parse].
func (b *Bytes) UnmarshalConfig(raw json.RawMessage) error {
	return config.Parsed((*int64)(b), raw, Parse)
}

// ConfigSchema describes the field.
func (Bytes) ConfigSchema() map[string]any {
	return map[string]any{"type": "integer", "minimum": Min, "maximum": Max,
		"description": "The most bytes one record may take; a longer one fails the read, naming where it is."}
}
