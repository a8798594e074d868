package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
)

// Draft is the JSON Schema dialect [Schema] writes.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema returns the JSON Schema (draft 2020-12) of the config declared
// by v, a struct or a pointer to one (its values are not read), for the
// Spec's ConfigSchema: every key with its type, description, default,
// enum, bounds and whether it is required; aliases and deprecated names
// are listed too (deprecated ones marked so); secrets are writeOnly; an
// unknown key is refused (additionalProperties false).
func Schema(v any) json.RawMessage {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("config: Schema needs a struct, got %T", v))
	}
	s := blockSchema(compile(t))
	s["$schema"] = Draft
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("config: schema of %s: %v", t, err))
	}
	return out
}

func blockSchema(b *block) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range b.fields {
		s := fieldSchema(f)
		props[f.name] = s
		for _, a := range f.aliases {
			props[a] = withDoc(s, "Alias of "+f.name+".")
		}
		for _, a := range f.deprecated {
			d := withDoc(s, "Deprecated: use "+f.name+".")
			d["deprecated"] = true
			delete(d, "default")
			props[a] = d
		}
		if f.required {
			required = append(required, f.name)
		}
	}
	s := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func withDoc(s map[string]any, doc string) map[string]any {
	c := make(map[string]any, len(s))
	for k, v := range s {
		c[k] = v
	}
	c["description"] = doc
	delete(c, "default")
	return c
}

func fieldSchema(f *field) map[string]any {
	s := typeSchema(f, f.typ)
	if f.doc != "" {
		s["description"] = f.doc
	}
	if f.secret {
		s["writeOnly"] = true
	}
	if f.hasDef {
		var v any
		if json.Unmarshal(f.defaultJSON(), &v) == nil {
			s["default"] = v
		}
	}
	return s
}

func typeSchema(f *field, t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		return typeSchema(f, t.Elem())
	}
	if t.Implements(schemerType) {
		return reflect.New(t).Elem().Interface().(Schemer).ConfigSchema()
	}
	if reflect.PointerTo(t).Implements(schemerType) {
		return reflect.New(t).Interface().(Schemer).ConfigSchema()
	}
	if t == rawType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return map[string]any{}
	}
	if t == durationType {
		s := map[string]any{"type": []string{"string", "number"}, "pattern": `^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$`}
		return s
	}
	num := func(typ string) map[string]any {
		s := map[string]any{"type": typ}
		if f.min != nil {
			s["minimum"] = number(f.minText)
		}
		if f.max != nil {
			s["maximum"] = number(f.maxText)
		}
		return s
	}
	switch t.Kind() {
	case reflect.String:
		s := map[string]any{"type": "string"}
		if len(f.enum) > 0 {
			s["enum"] = f.enum
		}
		if f.nonempty {
			s["minLength"] = 1
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return num("integer")
	case reflect.Float32, reflect.Float64:
		return num("number")
	case reflect.Pointer:
		return typeSchema(f, t.Elem())
	case reflect.Slice:
		item := typeSchema(f, t.Elem())
		s := map[string]any{"type": "array", "items": item}
		if f.nonempty {
			s["minItems"] = 1
		}
		if f.single {
			return map[string]any{"oneOf": []any{item, s}}
		}
		return s
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(f, t.Elem())}
	case reflect.Struct:
		return blockSchema(compile(t))
	}
	return map[string]any{}
}

func number(s string) json.Number {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "0"
	}
	return json.Number(s)
}
