package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// Secret is a string that is never shown: String, GoString, the fmt verbs
// and MarshalJSON give "[redacted]" (or "" when it is empty). Value returns
// the string itself.
type Secret string

// Value returns the secret's text.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString returns the same as String, so %#v redacts too.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalJSON writes the redacted form, so a config marshalled into a log
// or a state blob does not carry the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Unmarshaler is a field type that decodes its own value: the per-field
// hook for values with a syntax of their own. The error's text becomes the
// field error's message, after the field's path.
type Unmarshaler interface {
	UnmarshalConfig(raw json.RawMessage) error
}

// Schemer is a field type (usually an [Unmarshaler]) that describes its
// own JSON Schema; without it such a field's schema is {} (any value).
type Schemer interface {
	ConfigSchema() map[string]any
}

// Validator is a struct (the whole config or a nested block) that checks
// what spans several of its fields. ValidateConfig runs after the struct's
// fields are decoded (a field with an error holds its default); the errors'
// Field is relative to the struct and gets the struct's path in front.
type Validator interface {
	ValidateConfig() []sdk.FieldError
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	secretType      = reflect.TypeFor[Secret]()
	rawType         = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	schemerType     = reflect.TypeFor[Schemer]()
	validatorType   = reflect.TypeFor[Validator]()
)

// field is one declared key.
type field struct {
	name       string
	aliases    []string
	deprecated []string
	index      []int
	typ        reflect.Type
	required   bool
	secret     bool
	nonempty   bool
	single     bool
	enum       []string
	min, max   *float64
	minText    string
	maxText    string
	def        string
	hasDef     bool
	doc        string
	msg        string
}

// block is a struct's declared keys.
type block struct {
	typ    reflect.Type
	fields []*field
	// byKey maps every accepted spelling to its field.
	byKey map[string]*field
	// allowed lists the names and aliases in declaration order.
	allowed []string
}

// compile reads t's declaration; it panics on a malformed one.
func compile(t reflect.Type) *block {
	b := &block{typ: t, byKey: map[string]*field{}}
	b.add(t, nil)
	return b
}

func (b *block) add(t reflect.Type, index []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		tag, tagged := sf.Tag.Lookup("config")
		if !tagged {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				b.add(sf.Type, idx)
			}
			continue
		}
		if tag == "-" {
			continue
		}
		if !sf.IsExported() {
			panic(fmt.Sprintf("config: %s.%s has a config tag but is not exported", t, sf.Name))
		}
		parts := strings.Split(tag, ",")
		f := &field{name: parts[0], index: idx, typ: sf.Type, doc: sf.Tag.Get("doc"), msg: sf.Tag.Get("msg")}
		if f.name == "" {
			panic(fmt.Sprintf("config: %s.%s: the config tag names no key", t, sf.Name))
		}
		for _, o := range parts[1:] {
			switch o {
			case "required":
				f.required = true
			case "secret":
				f.secret = true
			case "nonempty":
				f.nonempty = true
			case "single":
				f.single = true
			default:
				panic(fmt.Sprintf("config: %s.%s: unknown option %q in the config tag; allowed: required, secret, nonempty, single", t, sf.Name, o))
			}
		}
		if base(f.typ) == secretType {
			f.secret = true
		}
		f.aliases = list(sf.Tag.Get("alias"))
		f.deprecated = list(sf.Tag.Get("deprecated"))
		f.enum = list(sf.Tag.Get("enum"))
		f.minText, f.maxText = sf.Tag.Get("min"), sf.Tag.Get("max")
		f.min, f.max = bound(f, f.minText), bound(f, f.maxText)
		f.def, f.hasDef = sf.Tag.Lookup("default")
		checkType(f.typ, f.name)
		if f.hasDef {
			v := reflect.New(f.typ).Elem()
			if errs := f.decodeDefault(v); len(errs) > 0 {
				panic(fmt.Sprintf("config: %s.%s: default %q: %s", t, sf.Name, f.def, errs[0].Message))
			}
		}
		b.fields = append(b.fields, f)
		for _, k := range append(append([]string{f.name}, f.aliases...), f.deprecated...) {
			if _, dup := b.byKey[k]; dup {
				panic(fmt.Sprintf("config: %s: the key %q is declared twice", t, k))
			}
			b.byKey[k] = f
		}
		b.allowed = append(append(b.allowed, f.name), f.aliases...)
	}
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// base is t without pointers and slices: the kind a value ends up as.
func base(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || (t.Kind() == reflect.Slice && t != rawType) {
		t = t.Elem()
	}
	return t
}

func bound(f *field, s string) *float64 {
	if s == "" {
		return nil
	}
	if base(f.typ) == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			panic(fmt.Sprintf("config: field %s: bound %q is not a duration", f.name, s))
		}
		x := float64(d)
		return &x
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(fmt.Sprintf("config: field %s: bound %q is not a number", f.name, s))
	}
	return &x
}

// checkType panics when t cannot be decoded.
func checkType(t reflect.Type, name string) {
	if t == rawType || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64, reflect.Interface:
	case reflect.Pointer, reflect.Slice:
		checkType(t.Elem(), name)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("config: field %s: a map's keys must be strings, not %s", name, t.Key()))
		}
		checkType(t.Elem(), name)
	case reflect.Struct:
		compile(t)
	default:
		panic(fmt.Sprintf("config: field %s: type %s is not supported", name, t))
	}
}

// Number is a number that may also be written as a string ("30"), as
// YAML users and older configs often do. Its bounds are the connector's to
// check (min and max tags do not apply to it).
type Number float64

// UnmarshalConfig reads a JSON number or a string holding one.
func (n *Number) UnmarshalConfig(raw json.RawMessage) error {
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fmt.Errorf("must be a number, got %s", raw)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("must be a number, got %s", raw)
		}
		f = x
	}
	*n = Number(f)
	return nil
}

// ConfigSchema describes a number that may be written as a string.
func (Number) ConfigSchema() map[string]any {
	return map[string]any{"type": []string{"number", "string"}}
}

// Parsed is the body of an [Unmarshaler] built on a parse function in the
// (value, message) style: it stores parse(raw)'s value in dst, or returns
// its message, when not empty, as the error (and leaves dst alone).
func Parsed[T any](dst *T, raw json.RawMessage, parse func(json.RawMessage) (T, string)) error {
	v, msg := parse(raw)
	if msg != "" {
		return errors.New(msg)
	}
	*dst = v
	return nil
}
