package config_test

import (
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// FuzzParse checks that no file makes Parse panic, and that a file that
// parses gives connectors whose configuration encodes as JSON.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		head + "flows:\n  - {from: orders_csv, to: lake}\n",
		head + "flows:\n  - {from: customers, stream: s, to: warehouse, mode: upsert, key: [id], incremental: {cursor: u}}\n",
		"version: 1\nx-d: &d {type: csv, a: [1, *d]}\nsources: {s: *d}\ndestinations: {d: {<<: *d, b: ${B:-x}}}\nflows: [{from: s, to: d}]\n",
		"version: 1\nsources: {s: {type: csv, p: \"${A:-${B}}$$\"}}\ndestinations: {d: {type: csv, resilience: false}}\nflows: [{from: s, to: d, mode: merge}]\n",
		"a: &a [*a, *a]\nb: !!binary aGVsbG8=\nc: !!float .nan\n",
		"---\n- 1\n---\n- 2\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	lookup := env(map[string]string{"A": "1", "B": "two"})
	f.Fuzz(func(t *testing.T, src string) {
		p, err := config.Parse("fuzz.yaml", []byte(src), lookup)
		if err != nil {
			_ = err.Error()
			return
		}
		for _, cs := range []map[string]*config.Connector{p.Sources, p.Destinations} {
			for _, c := range cs {
				if _, err := c.ConfigJSON(); err != nil {
					t.Errorf("ConfigJSON of %s: %v", c.Name, err)
				}
				_ = c.Redacted()
				_, _ = c.Resolve(lookup)
				for k := range c.Config {
					_ = c.Locate(k + ".0.x")
				}
				_ = c.FieldError(sdk.FieldError{Field: "a.1.b", Message: "m"})
			}
		}
		_ = p.CheckModes(map[string]sdk.Spec{"lake": {}, "d": {WriteModes: []sdk.WriteMode{"append"}}})
	})
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nx-0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("x-" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("sources: {s: {type: csv, bomb: *l9}}\ndestinations: {d: {type: csv}}\nflows: [{from: s, to: d}]\n")
	_, err := config.Parse("bomb.yaml", []byte(b.String()), nil)
	want := ": the file expands to more than 100000 values; are aliases nested too deeply?"
	if err == nil || !strings.HasPrefix(err.Error(), "bomb.yaml:2:") || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("got %v\nwant bomb.yaml:2:...%s", err, want)
	}
}
