package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// Decoder decodes configurations. Its zero value is ready to use.
type Decoder struct {
	// Name is the connector's type, used in the message for a config
	// that is not a JSON object ("the csv configuration must be a JSON
	// object"). Empty reads "the configuration ...".
	Name string
	// Warn receives a warning that does not stop the config: a
	// deprecated key was used. field is the key's path as written. Nil
	// drops warnings.
	Warn func(field, message string)
}

// Decode decodes raw into dst with a zero [Decoder]; see [Decoder.Decode].
func Decode(raw json.RawMessage, dst any) []sdk.FieldError {
	return Decoder{}.Decode(raw, dst)
}

// Decode resets *dst (a pointer to a struct declared with config tags),
// sets the defaults and decodes raw, a JSON object, into it. It returns
// every problem found, each naming the field's full path, in the order the
// keys are written (then missing required keys, then the [Validator]'s);
// nil means dst holds a valid config. An empty raw, or null, reads as {};
// a key set to null is the same as a key left out.
func (d Decoder) Decode(raw json.RawMessage, dst any) []sdk.FieldError {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("config: Decode needs a non-nil pointer to a struct, got %T", dst))
	}
	b := compile(v.Elem().Type())
	v.Elem().SetZero()
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		raw = json.RawMessage("{}")
	}
	obj, ok := object(raw)
	if !ok {
		name := "the configuration"
		if d.Name != "" {
			name = "the " + d.Name + " configuration"
		}
		return []sdk.FieldError{{Message: name + " must be an object (a JSON object) with keys " + strings.Join(b.allowed, ", ")}}
	}
	return d.decodeBlock("", obj, v.Elem(), b)
}

// member is one key of a JSON object and its value.
type member struct {
	key string
	raw json.RawMessage
}

// object reads raw as a JSON object, keeping its keys in the order written.
func object(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{k, v})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return out, true
}

func join(path, key string) string {
	if path == "" || key == "" {
		return path + key
	}
	if strings.HasPrefix(key, "[") {
		return path + key
	}
	return path + "." + key
}

// decodeBlock decodes obj into the struct v.
func (d Decoder) decodeBlock(path string, obj []member, v reflect.Value, b *block) []sdk.FieldError {
	var errs []sdk.FieldError
	seen := map[*field]string{}
	given := map[string]bool{}
	for _, m := range obj {
		k := m.key
		if given[k] {
			errs = append(errs, sdk.FieldError{Field: join(path, k), Message: "is given twice; give each key once"})
			continue
		}
		given[k] = true
		f, ok := b.byKey[k]
		if !ok {
			errs = append(errs, sdk.FieldError{Field: join(path, k), Message: configkey.Unknown(k, b.allowed)})
			continue
		}
		if bytes.Equal(bytes.TrimSpace(m.raw), []byte("null")) && !f.selfDecoding() {
			continue // null is the same as leaving the key out
		}
		if other, twice := seen[f]; twice {
			first, second := other, k
			if second == f.name {
				first, second = second, first
			}
			errs = append(errs, sdk.FieldError{Field: join(path, second), Message: fmt.Sprintf("set either %s or %s (an alias), not both", first, second)})
			continue
		}
		seen[f] = k
		if d.Warn != nil && contains(f.deprecated, k) {
			d.Warn(join(path, k), fmt.Sprintf("%s is deprecated; use %s", k, f.name))
		}
		errs = append(errs, d.decodeField(join(path, k), m.raw, v.FieldByIndex(f.index), f)...)
	}
	for _, f := range b.fields {
		if _, ok := seen[f]; ok {
			continue
		}
		fv := v.FieldByIndex(f.index)
		switch {
		case f.required:
			msg := "is required"
			if f.doc != "" {
				msg += ": " + f.doc
			}
			errs = append(errs, sdk.FieldError{Field: join(path, f.name), Message: msg})
		case f.hasDef:
			f.decodeDefault(fv)
		case fv.Kind() == reflect.Struct && !f.selfDecoding():
			// An absent block still gets its own fields' defaults.
			d.decodeBlock(join(path, f.name), nil, fv, compile(fv.Type()))
		}
	}
	if val, ok := v.Addr().Interface().(Validator); ok {
		for _, e := range val.ValidateConfig() {
			e.Field = join(path, e.Field)
			if path != "" && e.Field == path+"." {
				e.Field = path
			}
			errs = append(errs, e)
		}
	}
	return errs
}

// selfDecoding reports whether f's type decodes itself (it then sees a
// null too).
func (f *field) selfDecoding() bool {
	return f.typ == rawType || reflect.PointerTo(f.typ).Implements(unmarshalerType)
}

// Errors is what an [Unmarshaler] returns for problems at several places
// inside its value: each Field is relative to the field being decoded
// ("[2].name", "name", or "" for the field itself) and gets its path in
// front.
type Errors []sdk.FieldError

// Addf adds a problem with field, its message formatted as by fmt.Sprintf:
// a connector's checks after Decode collect their errors with it.
func (e *Errors) Addf(field, format string, args ...any) {
	*e = append(*e, sdk.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Error joins the errors' texts with "; ".
func (e Errors) Error() string {
	s := make([]string, len(e))
	for i, x := range e {
		s[i] = x.Error()
	}
	return strings.Join(s, "; ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// defaultJSON is f's default as the JSON a user would write.
func (f *field) defaultJSON() json.RawMessage {
	raw := json.RawMessage(f.def)
	k := base(f.typ)
	if k.Kind() == reflect.String || k == durationType || !json.Valid(raw) {
		if !(json.Valid(raw) && (bytes.HasPrefix(raw, []byte(`"`)) || bytes.HasPrefix(raw, []byte(`[`)))) {
			raw, _ = json.Marshal(f.def)
		}
	}
	return raw
}

// decodeDefault sets v to f's default.
func (f *field) decodeDefault(v reflect.Value) []sdk.FieldError {
	return Decoder{}.decodeField(f.name, f.defaultJSON(), v, f)
}

// decodeField decodes raw, the value of f at path, into v.
func (d Decoder) decodeField(path string, raw json.RawMessage, v reflect.Value, f *field) []sdk.FieldError {
	errs := d.decodeValue(path, raw, v, f)
	if len(errs) == 0 && f.nonempty && (v.Kind() == reflect.String || v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0 {
		msg := "must not be empty"
		if f.msg != "" {
			msg = f.msg
		}
		errs = append(errs, sdk.FieldError{Field: path, Message: msg})
	}
	return errs
}

// decodeValue decodes raw into v, a value of f's type or of an element of
// it.
func (d Decoder) decodeValue(path string, raw json.RawMessage, v reflect.Value, f *field) []sdk.FieldError {
	raw = bytes.TrimSpace(raw)
	t := v.Type()
	if t == rawType {
		v.SetBytes(append([]byte(nil), raw...))
		return nil
	}
	if u, ok := v.Addr().Interface().(Unmarshaler); ok {
		if err := u.UnmarshalConfig(raw); err != nil {
			var many Errors
			if errors.As(err, &many) {
				out := make([]sdk.FieldError, len(many))
				for i, e := range many {
					out[i] = sdk.FieldError{Field: join(path, e.Field), Message: e.Message}
				}
				return out
			}
			return []sdk.FieldError{{Field: path, Message: err.Error()}}
		}
		return nil
	}
	isNull := bytes.Equal(raw, []byte("null"))
	switch t.Kind() {
	case reflect.Pointer:
		if isNull {
			v.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		errs := d.decodeValue(path, raw, p.Elem(), f)
		v.Set(p)
		return errs
	case reflect.Interface:
		var x any
		if err := json.Unmarshal(raw, &x); err != nil {
			return f.wrong(path, raw, t)
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}
	if isNull {
		return f.wrong(path, raw, t)
	}
	switch {
	case t == durationType:
		var dur time.Duration
		var s string
		if json.Unmarshal(raw, &s) == nil {
			x, err := time.ParseDuration(s)
			if err != nil {
				return f.wrong(path, raw, t)
			}
			dur = x
		} else if n, err := strconv.ParseFloat(string(raw), 64); err == nil {
			dur = time.Duration(n * float64(time.Second))
		} else {
			return f.wrong(path, raw, t)
		}
		if !f.inRange(float64(dur)) {
			return f.wrong(path, raw, t)
		}
		v.SetInt(int64(dur))
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return f.wrong(path, raw, t)
		}
		if len(f.enum) > 0 && !contains(f.enum, s) {
			msg := "must be one of " + strings.Join(f.enum, ", ")
			if !f.secret {
				msg += configkey.Suggest(s, f.enum) + ", got " + strconv.Quote(s)
			}
			return []sdk.FieldError{{Field: path, Message: msg}}
		}
		v.SetString(s)
	case reflect.Bool:
		var x bool
		if json.Unmarshal(raw, &x) != nil {
			return f.wrong(path, raw, t)
		}
		v.SetBool(x)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || x != math.Trunc(x) || v.OverflowInt(int64(x)) || math.Abs(x) > 1<<63 || !f.inRange(x) {
			return f.wrong(path, raw, t)
		}
		v.SetInt(int64(x))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || x != math.Trunc(x) || x < 0 || x > 1<<64 || v.OverflowUint(uint64(x)) || !f.inRange(x) {
			return f.wrong(path, raw, t)
		}
		v.SetUint(uint64(x))
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || v.OverflowFloat(x) || !f.inRange(x) {
			return f.wrong(path, raw, t)
		}
		v.SetFloat(x)
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			if !f.single || bytes.HasPrefix(raw, []byte("{")) {
				return f.wrong(path, raw, t)
			}
			one := reflect.New(t.Elem()).Elem()
			if errs := d.decodeValue(path, raw, one, f); len(errs) > 0 {
				return f.wrong(path, raw, t)
			}
			v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), one))
			return nil
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		var errs []sdk.FieldError
		for i, item := range items {
			errs = append(errs, d.decodeValue(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i), f)...)
		}
		v.Set(s)
		return errs
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return f.wrong(path, raw, t)
		}
		m := reflect.MakeMapWithSize(t, len(obj))
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var errs []sdk.FieldError
		for _, k := range keys {
			e := reflect.New(t.Elem()).Elem()
			errs = append(errs, d.decodeValue(join(path, k), obj[k], e, f)...)
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		v.Set(m)
		return errs
	case reflect.Struct:
		obj, ok := object(raw)
		if !ok {
			return f.wrong(path, raw, t)
		}
		return d.decodeBlock(path, obj, v, compile(t))
	}
	return nil
}

func (f *field) inRange(x float64) bool {
	return (f.min == nil || x >= *f.min) && (f.max == nil || x <= *f.max)
}

// maxEcho bounds the value quoted back in an error.
const maxEcho = 60

// wrong is the error for a value of the wrong type or out of range.
func (f *field) wrong(path string, raw json.RawMessage, t reflect.Type) []sdk.FieldError {
	msg := f.msg
	if msg == "" {
		msg = "must be " + f.describe(t)
	}
	if !f.secret {
		got := string(raw)
		if len(got) > maxEcho {
			got = got[:maxEcho] + "..."
		}
		msg += ", got " + got
	}
	return []sdk.FieldError{{Field: path, Message: msg}}
}

// describe says what values of t (an element of f's type) are allowed.
func (f *field) describe(t reflect.Type) string {
	if t == durationType {
		return "a duration such as \"30s\" or \"1m30s\" (or a number of seconds)" + f.rangeText()
	}
	switch t.Kind() {
	case reflect.String:
		if len(f.enum) > 0 {
			return "one of " + strings.Join(f.enum, ", ")
		}
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if f.minText == "1" && f.max == nil {
			return "a positive integer (at least 1)"
		}
		return "an integer" + f.rangeText()
	case reflect.Float32, reflect.Float64:
		return "a number" + f.rangeText()
	case reflect.Slice:
		s := "a list of " + plural(f.describe(t.Elem()))
		if f.single {
			s = f.describe(t.Elem()) + " or " + s
		}
		return s
	case reflect.Map:
		return "an object"
	case reflect.Struct:
		return "an object with keys " + strings.Join(compile(t).allowed, ", ")
	case reflect.Pointer:
		return f.describe(t.Elem())
	}
	return "valid JSON"
}

func (f *field) rangeText() string {
	switch {
	case f.min != nil && f.max != nil:
		return " from " + f.minText + " to " + f.maxText
	case f.min != nil:
		return " of at least " + f.minText
	case f.max != nil:
		return " of at most " + f.maxText
	}
	return ""
}

// plural turns "a string" into "strings" for "a list of ...".
func plural(s string) string {
	switch {
	case strings.HasPrefix(s, "a list"), strings.HasPrefix(s, "one of"):
		return "values that are each " + s
	case strings.HasPrefix(s, "an object"):
		return "objects"
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "an "), "a ")
	word, rest, _ := strings.Cut(s, " ")
	if rest != "" {
		rest = " " + rest
	}
	if word == "positive" {
		return "positive integers (at least 1)"
	}
	return word + "s" + rest
}
