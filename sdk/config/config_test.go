package config_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/config"
)

type column struct {
	Name string `config:"name,required,nonempty" doc:"The column's name."`
	Type string `config:"type" default:"string" enum:"string,int64,float64"`
}

type auth struct {
	User  string        `config:"user,required"`
	Token config.Secret `config:"token"`
}

type conf struct {
	Path     string            `config:"path,required" doc:"A file or a glob."`
	Header   bool              `config:"has_header" default:"true"`
	Rows     int               `config:"sample_rows" default:"1000" min:"1" alias:"sample"`
	Ratio    float64           `config:"ratio" min:"0" max:"1"`
	Port     *int              `config:"port" min:"1" max:"65535"`
	Encoding string            `config:"encoding" default:"utf-8" enum:"utf-8,latin-1"`
	Timeout  time.Duration     `config:"timeout" default:"30s" min:"1s"`
	Nulls    []string          `config:"null_values,single" default:"[\"\"]"`
	Headers  map[string]string `config:"headers"`
	Password string            `config:"password,secret"`
	Prefix   string            `config:"path_prefix" deprecated:"prefix"`
	Auth     *auth             `config:"auth"`
	Columns  []column          `config:"columns"`
	Extra    any               `config:"extra"`
	Later    json.RawMessage   `config:"later"`
	Derived  string            // not configuration
}

func (c *conf) ValidateConfig() []sdk.FieldError {
	if c.Password != "" && c.Auth != nil {
		return []sdk.FieldError{{Field: "password", Message: "set either password or auth, not both"}}
	}
	return nil
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		want  []string // "field: message" of each error, in order
		check func(t *testing.T, c conf)
	}{
		{name: "defaults", raw: `{"path": "a.csv"}`, check: func(t *testing.T, c conf) {
			want := conf{Path: "a.csv", Header: true, Rows: 1000, Encoding: "utf-8", Timeout: 30 * time.Second, Nulls: []string{""}}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v\nwant %+v", c, want)
			}
		}},
		{name: "every kind", raw: `{"path": "a", "has_header": false, "sample_rows": 5, "ratio": 0.5, "port": 5432, "encoding": "latin-1",
			"timeout": "1m30s", "null_values": ["", "\\N"], "headers": {"X-A": "1"}, "password": "pw", "columns": [{"name": "id", "type": "int64"}, {"name": "x"}],
			"extra": {"k": [1]}, "later": {"raw": true}}`, check: func(t *testing.T, c conf) {
			if c.Header || c.Rows != 5 || c.Ratio != 0.5 || *c.Port != 5432 || c.Encoding != "latin-1" || c.Timeout != 90*time.Second ||
				len(c.Nulls) != 2 || c.Headers["X-A"] != "1" || c.Password != "pw" || c.Columns[1].Type != "string" ||
				c.Extra.(map[string]any)["k"] == nil || string(c.Later) != `{"raw": true}` {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "duration as seconds", raw: `{"path": "a", "timeout": 2.5}`, check: func(t *testing.T, c conf) {
			if c.Timeout != 2500*time.Millisecond {
				t.Errorf("timeout = %v", c.Timeout)
			}
		}},
		{name: "single value for a list", raw: `{"path": "a", "null_values": "NA"}`, check: func(t *testing.T, c conf) {
			if !reflect.DeepEqual(c.Nulls, []string{"NA"}) {
				t.Errorf("nulls = %q", c.Nulls)
			}
		}},
		{name: "alias", raw: `{"path": "a", "sample": 7}`, check: func(t *testing.T, c conf) {
			if c.Rows != 7 {
				t.Errorf("rows = %d", c.Rows)
			}
		}},
		{name: "deprecated key still works", raw: `{"path": "a", "prefix": "p/"}`, check: func(t *testing.T, c conf) {
			if c.Prefix != "p/" {
				t.Errorf("prefix = %q", c.Prefix)
			}
		}},
		{name: "empty config", raw: ``, want: []string{"path: is required: A file or a glob."}},
		{name: "not an object", raw: `[1]`, want: []string{"the configuration must be an object (a JSON object) with keys path, has_header, sample_rows, sample, ratio, port, encoding, timeout, null_values, headers, password, path_prefix, auth, columns, extra, later"}},
		{name: "wrong type, in the order written", raw: `{"path": 3, "ratio": "x", "has_header": "yes"}`, want: []string{
			`path: must be a string, got 3`, `ratio: must be a number from 0 to 1, got "x"`, `has_header: must be a boolean (true or false), got "yes"`}},
		{name: "null is absent", raw: `{"path": null, "has_header": null}`, want: []string{"path: is required: A file or a glob."}},
		{name: "null in a list refused", raw: `{"path": "a", "null_values": [null]}`, want: []string{"null_values[0]: must be a string, got null"}},
		{name: "key given twice", raw: `{"path": "a", "path": "b"}`, want: []string{"path: is given twice; give each key once"}},
		{name: "block not an object", raw: `{"path": "a", "auth": "u"}`, want: []string{`auth: must be an object with keys user, token, got "u"`}},
		{name: "whole number", raw: `{"path": "a", "sample_rows": 1.5}`, want: []string{"sample_rows: must be a positive integer (at least 1), got 1.5"}},
		{name: "below min", raw: `{"path": "a", "sample_rows": 0}`, want: []string{"sample_rows: must be a positive integer (at least 1), got 0"}},
		{name: "out of range", raw: `{"path": "a", "port": 70000}`, want: []string{"port: must be an integer from 1 to 65535, got 70000"}},
		{name: "bad duration", raw: `{"path": "a", "timeout": "soon"}`, want: []string{`timeout: must be a duration such as "30s" or "1m30s" (or a number of seconds) of at least 1s, got "soon"`}},
		{name: "duration below min", raw: `{"path": "a", "timeout": "10ms"}`, want: []string{`timeout: must be a duration such as "30s" or "1m30s" (or a number of seconds) of at least 1s, got "10ms"`}},
		{name: "missing required", raw: `{"has_header": true}`, want: []string{"path: is required: A file or a glob."}},
		{name: "unknown key with suggestion", raw: `{"path": "a", "has_heder": true}`, want: []string{
			`has_heder: unknown key "has_heder" (did you mean has_header?); allowed keys: path, has_header, sample_rows, sample, ratio, port, encoding, timeout, null_values, headers, password, path_prefix, auth, columns, extra, later`}},
		{name: "enum violation", raw: `{"path": "a", "encoding": "utf8"}`, want: []string{`encoding: must be one of utf-8, latin-1 (did you mean utf-8?), got "utf8"`}},
		{name: "secret not echoed", raw: `{"path": "a", "password": 12345}`, want: []string{"password: must be a string"}},
		{name: "secret type not echoed", raw: `{"path": "a", "auth": {"user": "u", "token": ["hunter2"]}}`, want: []string{"auth.token: must be a string"}},
		{name: "alias and key both", raw: `{"path": "a", "sample": 1, "sample_rows": 2}`, want: []string{"sample: set either sample_rows or sample (an alias), not both"}},
		{name: "nested path", raw: `{"path": "a", "columns": [{"name": "a"}, {"name": "b"}, {"name": 3, "typ": "x"}]}`, want: []string{
			"columns[2].name: must be a string, got 3", `columns[2].typ: unknown key "typ" (did you mean type?); allowed keys: name, type`}},
		{name: "nested required and nonempty", raw: `{"path": "a", "columns": [{"type": "int64"}, {"name": ""}], "auth": {}}`, want: []string{
			"columns[0].name: is required: The column's name.", "columns[1].name: must not be empty", "auth.user: is required"}},
		{name: "nested enum", raw: `{"path": "a", "columns": [{"name": "a", "type": "int"}]}`, want: []string{
			`columns[0].type: must be one of string, int64, float64 (did you mean int64?), got "int"`}},
		{name: "map value path", raw: `{"path": "a", "headers": {"X-A": 1}}`, want: []string{"headers.X-A: must be a string, got 1"}},
		{name: "single value of the wrong type", raw: `{"path": "a", "null_values": 3}`, want: []string{"null_values: must be a string or a list of strings, got 3"}},
		{name: "list item path", raw: `{"path": "a", "null_values": ["", 2]}`, want: []string{"null_values[1]: must be a string, got 2"}},
		{name: "validator", raw: `{"path": "a", "password": "x", "auth": {"user": "u"}}`, want: []string{"password: set either password or auth, not both"}},
		{name: "long value cut", raw: `{"path": ["` + strings.Repeat("a", 100) + `"]}`, want: []string{`path: must be a string, got ["` + strings.Repeat("a", 58) + "..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conf{Derived: "stale", Rows: 99}
			errs := config.Decode(json.RawMessage(tt.raw), &c)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for _, e := range errs {
				for _, s := range []string{"hunter2", "12345"} {
					if strings.Contains(e.Message, s) {
						t.Errorf("the error %q shows the secret %q", e, s)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestDecoderNameAndWarn(t *testing.T) {
	var warned []string
	d := config.Decoder{Name: "csv", Warn: func(field, msg string) { warned = append(warned, field+": "+msg) }}
	var c conf
	if errs := d.Decode(json.RawMessage(`{"path": "a", "prefix": "p"}`), &c); errs != nil {
		t.Fatal(errs)
	}
	if want := []string{"prefix: prefix is deprecated; use path_prefix"}; !reflect.DeepEqual(warned, want) {
		t.Errorf("warnings = %q, want %q", warned, want)
	}
	errs := d.Decode(json.RawMessage(`"a"`), &c)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Message, "the csv configuration must be an object (a JSON object) with keys path, ") {
		t.Errorf("errs = %v", errs)
	}
}

func TestSecretRedacted(t *testing.T) {
	s := config.Secret("hunter2")
	a := auth{User: "u", Token: s}
	b, _ := json.Marshal(a)
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %s %q %+v %#v", s, s, s, a, a), string(b)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%q shows the secret", out)
		}
	}
	if s.Value() != "hunter2" || config.Secret("").String() != "" {
		t.Errorf("Value = %q", s.Value())
	}
}

type word string

func (w *word) UnmarshalConfig(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) != nil || strings.Contains(s, " ") {
		return fmt.Errorf("must be one word, got %s", raw)
	}
	*w = word(s)
	return nil
}

func (word) ConfigSchema() map[string]any {
	return map[string]any{"type": "string", "pattern": `^\S*$`}
}

type hooked struct {
	W word  `config:"w"`
	L pairs `config:"l"`
}

// pairs reports problems at several places inside its value.
type pairs []string

func (p *pairs) UnmarshalConfig(raw json.RawMessage) error {
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return fmt.Errorf("must be a list")
	}
	var errs config.Errors
	for i, s := range list {
		if s == "" {
			errs = append(errs, sdk.FieldError{Field: fmt.Sprintf("[%d]", i), Message: "must not be empty"})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	*p = list
	return nil
}

func TestUnmarshalerHook(t *testing.T) {
	var h hooked
	errs := config.Decode(json.RawMessage(`{"w": "two words"}`), &h)
	if len(errs) != 1 || errs[0].Error() != `w: must be one word, got "two words"` {
		t.Errorf("errs = %v", errs)
	}
	errs = config.Decode(json.RawMessage(`{"l": ["a", "", "b", ""]}`), &h)
	if got := fmt.Sprint(errs); got != "[l[1]: must not be empty l[3]: must not be empty]" {
		t.Errorf("errs = %s", got)
	}
	if errs := config.Decode(json.RawMessage(`{"w": "one"}`), &h); errs != nil || h.W != "one" {
		t.Errorf("errs = %v, w = %q", errs, h.W)
	}
	if s := string(config.Schema(hooked{})); !strings.Contains(s, `"pattern": "^\\S*$"`) {
		t.Errorf("schema = %s", s)
	}
}

func TestSchema(t *testing.T) {
	var got map[string]any
	if err := json.Unmarshal(config.Schema(&conf{}), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"$schema":                                  config.Draft,
		"required":                                 `["path"]`,
		"additionalProperties":                     "false",
		"properties.path":                          `{"description":"A file or a glob.","type":"string"}`,
		"properties.has_header":                    `{"default":true,"type":"boolean"}`,
		"properties.sample_rows":                   `{"default":1000,"minimum":1,"type":"integer"}`,
		"properties.sample":                        `{"description":"Alias of sample_rows.","minimum":1,"type":"integer"}`,
		"properties.port":                          `{"maximum":65535,"minimum":1,"type":"integer"}`,
		"properties.encoding":                      `{"default":"utf-8","enum":["utf-8","latin-1"],"type":"string"}`,
		"properties.timeout.default":               `30s`,
		"properties.null_values":                   `{"default":[""],"oneOf":[{"type":"string"},{"items":{"type":"string"},"type":"array"}]}`,
		"properties.headers":                       `{"additionalProperties":{"type":"string"},"type":"object"}`,
		"properties.password":                      `{"type":"string","writeOnly":true}`,
		"properties.prefix":                        `{"deprecated":true,"description":"Deprecated: use path_prefix.","type":"string"}`,
		"properties.auth.properties.token":         `{"type":"string","writeOnly":true}`,
		"properties.auth.required":                 `["user"]`,
		"properties.columns.items.properties.type": `{"default":"string","enum":["string","int64","float64"],"type":"string"}`,
		"properties.extra":                         `{}`,
	}
	for path, w := range want {
		var v any = got
		for _, k := range strings.Split(strings.Replace(path, "$schema", "\x00", 1), ".") {
			if k == "\x00" {
				k = "$schema"
			}
			v = v.(map[string]any)[k]
		}
		b, _ := json.Marshal(v)
		if s, ok := v.(string); ok {
			b = []byte(s)
		}
		if string(b) != w {
			t.Errorf("%s = %s, want %s", path, b, w)
		}
	}
	if _, ok := got["properties"].(map[string]any)["Derived"]; ok {
		t.Error("an untagged field is in the schema")
	}
}

func TestBadDeclarationPanics(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"unknown option", &struct {
			A string `config:"a,requird"`
		}{}, `unknown option "requird"`},
		{"bad default", &struct {
			A int `config:"a" default:"x"`
		}{}, `default "x"`},
		{"duplicate key", &struct {
			A string `config:"a"`
			B string `config:"b" alias:"a"`
		}{}, `"a" is declared twice`},
		{"unsupported type", &struct {
			C chan int `config:"c"`
		}{}, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tt.want) {
					t.Errorf("panic = %v, want one containing %q", r, tt.want)
				}
			}()
			config.Decode(json.RawMessage(`{}`), tt.v)
		})
	}
}
