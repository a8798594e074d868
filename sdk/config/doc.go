// Package config decodes a connector's configuration from a declaration
// made once, as a Go struct with tags, and generates the Spec's JSON
// Schema (draft 2020-12) from the same declaration.
//
// A connector declares its fields:
//
//	type conf struct {
//		Path     string        `config:"path,required" doc:"A file, a directory or a glob."`
//		Header   bool          `config:"has_header" default:"true"`
//		Encoding string        `config:"encoding" default:"utf-8" enum:"utf-8,latin-1"`
//		Rows     int           `config:"sample_rows" default:"1000" min:"1" alias:"sample"`
//		Token    config.Secret `config:"token"`
//		Timeout  time.Duration `config:"timeout" default:"30s"`
//		Columns  []column      `config:"columns"`
//	}
//
// and Configure decodes into it:
//
//	func (c *conn) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
//		return config.Decode(raw, &c.conf), nil
//	}
//
// while Spec reports config.Schema(conf{}) as its ConfigSchema.
//
// # Tags
//
//   - config:"name[,option...]": the key. Options: required (the key must
//     be given), secret (the value is never echoed in an error and the
//     schema marks it writeOnly; a [Secret] field is always secret),
//     nonempty (an empty string or list is refused), single (a list also
//     accepts one value, read as a list of one). A field without a config
//     tag, or with config:"-", is not configuration; an embedded struct
//     without a tag lends its fields to the enclosing block.
//   - doc:"...": the description in the schema and in "is required".
//   - default:"...": the value when the key is absent, written as JSON
//     (true, 1000, ["a"]) or, for a string or a duration, as plain text.
//   - alias:"a,b": other names of the key that keep working silently.
//   - deprecated:"old": old names that keep working with a warning
//     (see [Decoder.Warn]) saying which key replaces them.
//   - enum:"a,b,c": the allowed values of a string (or of each string of
//     a list).
//   - min:"n", max:"n": bounds of a number, or of a duration in Go's
//     syntax (min:"1s").
//   - msg:"...": replaces "must be <what the type allows>" in a type or
//     range error, for a field whose allowed values need more words.
//
// # Kinds
//
// string, bool, the int and uint kinds, float32/64, [time.Duration] (a
// string such as "1m30s", or a number of seconds), [Secret], slices of any
// kind, maps with string keys, nested structs (blocks) and pointers to any
// of these (nil when the key is absent: "was it set?"), any (any JSON
// value) and [json.RawMessage] (the raw value, for a field decoded later).
// A field whose type implements [Unmarshaler] decodes itself: that is the
// per-field hook for values with their own syntax; it may also implement
// [Schemer] to describe itself in the schema.
//
// # Errors
//
// An empty config reads as {}, and a key set to null as a key left out
// (YAML's "key:" with nothing after it), except for a field that decodes
// itself, which sees the null. Problems come in the order the keys are
// written, then the missing required keys, then the [Validator]'s.
// Every problem is an [sdk.FieldError] whose Field is the full path of the
// key as the user wrote it ("auth.token", "columns[2].name"): a wrong type
// or a value out of range, a missing required key, a value outside the
// enum (with a did-you-mean), an alias given together with its key, and an
// unknown key (with a did-you-mean and the allowed keys, see
// [configkey.Unknown]). A struct that implements [Validator] checks what
// spans several fields after its own fields are decoded.
//
// A malformed declaration (an unknown tag option, a default that does not
// decode, an unsupported type) is a bug in the connector: Decode and
// Schema panic with a message naming the field.
package config
