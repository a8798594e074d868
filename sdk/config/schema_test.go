package config_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sqlflow/sqlflow-host/sdk/config"
)

// TestSchemaAgreesWithDecode compiles the generated schema with a draft
// 2020-12 validator (santhosh-tekuri/jsonschema, which checks the schema
// against the draft's meta-schema) and checks that it accepts exactly the
// configs Decode accepts, for configs of every kind of problem.
func TestSchemaAgreesWithDecode(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(config.Schema(conf{})))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("conf.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("conf.json")
	if err != nil {
		t.Fatalf("the generated schema does not compile as draft 2020-12: %v", err)
	}
	for _, raw := range []string{
		`{"path": "a"}`,
		`{"path": "a", "has_header": false, "sample_rows": 5, "ratio": 0.5, "port": 5432, "encoding": "latin-1", "timeout": "1m30s",
		  "null_values": ["", "\\N"], "headers": {"X-A": "1"}, "prefix": "p/", "auth": {"user": "u", "token": "t"},
		  "columns": [{"name": "id", "type": "int64"}], "extra": [1], "later": {}}`,
		`{"path": "a", "timeout": 2.5, "null_values": "NA", "sample": 3}`,
		`{}`,
		`{"path": 3}`,
		`{"path": "a", "has_header": "yes"}`,
		`{"path": "a", "sample_rows": 0}`,
		`{"path": "a", "sample_rows": 1.5}`,
		`{"path": "a", "ratio": 2}`,
		`{"path": "a", "port": 70000}`,
		`{"path": "a", "encoding": "utf8"}`,
		`{"path": "a", "has_heder": true}`,
		`{"path": "a", "timeout": "soon"}`,
		`{"path": "a", "headers": {"X-A": 1}}`,
		`{"path": "a", "auth": {}}`,
		`{"path": "a", "auth": {"user": "u", "x": 1}}`,
		`{"path": "a", "columns": [{"type": "int64"}]}`,
		`{"path": "a", "columns": [{"name": ""}]}`,
		`{"path": "a", "columns": [{"name": "a", "type": "int"}]}`,
		`{"path": "a", "null_values": [2]}`,
	} {
		var c conf
		decodeOK := len(config.Decode(json.RawMessage(raw), &c)) == 0
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(raw)))
		if err != nil {
			t.Fatal(err)
		}
		verr := sch.Validate(inst)
		if decodeOK != (verr == nil) {
			t.Errorf("%s: Decode accepts it: %v, the schema accepts it: %v (%v)", raw, decodeOK, verr == nil, verr)
		}
	}
}
