package sdktest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// checkSchema compiles the Spec's ConfigSchema (draft 2020-12 unless it
// names another $schema) and checks that every valid config of cfg
// matches it: the schema a connector publishes must not refuse a config
// its Configure accepts.
func checkSchema(t *testing.T, schema json.RawMessage, cfg Config) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return // the caller reports a schema that is not JSON
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("spec.json", doc); err != nil {
		t.Errorf("Spec.ConfigSchema: %v", err)
		return
	}
	sch, err := c.Compile("spec.json")
	if err != nil {
		t.Errorf("Spec.ConfigSchema is not a valid JSON Schema: %v", err)
		return
	}
	valid := map[string]json.RawMessage{}
	if cfg.Source != nil {
		valid["Source.Config"] = cfg.Source.Config
		if cfg.Source.LargeStream != nil && cfg.Source.LargeStream.Config != nil {
			valid["Source.LargeStream.Config"] = cfg.Source.LargeStream.Config
		}
	}
	if cfg.Destination != nil {
		valid["Destination.Config"] = cfg.Destination.Config
	}
	for name, raw := range valid {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			continue // the role's own test reports a config that is not JSON
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s, a config Configure must accept, does not match Spec.ConfigSchema: %v", name, err)
		}
	}
}
