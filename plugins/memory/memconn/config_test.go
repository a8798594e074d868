package memconn_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
)

func TestConfigureFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		field string // the field the (first) error names
		msg   string // a fragment of its message
	}{
		{"not an object", `[1]`, "", "must be an object"},
		{"unknown key", `{"colour": "x"}`, "colour", `unknown key "colour"; allowed keys: dump_path, faults, generate, rows, staging_dir, table_name`},
		{"misspelt key", `{"tabel_name": "x"}`, "tabel_name",
			`unknown key "tabel_name" (did you mean table_name?); allowed keys: dump_path, faults, generate, rows, staging_dir, table_name`},
		{"table_name type", `{"table_name": 3}`, "table_name", "must be a string, got 3"},
		{"table_name empty", `{"table_name": ""}`, "table_name", "must not be empty"},
		{"dump_path type", `{"dump_path": true}`, "dump_path", "must be a string"},
		{"rows and generate", `{"rows": [], "generate": {"rows": 1}}`, "generate", "mutually exclusive"},
		{"rows not a list", `{"rows": {"a": 1}}`, "rows", "must be a list of objects"},
		{"row not an object", `{"rows": [{"a": 1}, 5]}`, "rows[1]", "must be an object"},
		{"mixed column types", `{"rows": [{"a": 1}, {"a": "x"}]}`, "rows[1].a", "is a string, but earlier rows hold integer values"},
		{"generate not an object", `{"generate": 5}`, "generate", "must be an object with keys rows, seed"},
		{"generate unknown key", `{"generate": {"rows": 1, "sead": 2}}`, "generate.sead", `unknown key "sead" (did you mean seed?); allowed keys: rows, seed`},
		{"generate rows missing", `{"generate": {"seed": 2}}`, "generate.rows", "is required"},
		{"generate rows negative", `{"generate": {"rows": -1}}`, "generate.rows", "at least 0"},
		{"generate rows fractional", `{"generate": {"rows": 1.5}}`, "generate.rows", "must be an integer"},
		{"generate rows string", `{"generate": {"rows": "10"}}`, "generate.rows", `must be an integer of at least 0, got "10"`},
		{"generate seed type", `{"generate": {"rows": 1, "seed": "x"}}`, "generate.seed", "must be an integer"},
		{"faults not an object", `{"faults": true}`, "faults", "must be an object"},
		{"faults unknown key", `{"faults": {"flaky": 0.1}}`, "faults.flaky", `unknown key "flaky"; allowed keys: auth_file, latency, permanent_at_page, rate_limited, retry_after, revoked_file, seed, transient`},
		{"faults misspelt key", `{"faults": {"transiant": 0.1}}`, "faults.transiant", `unknown key "transiant" (did you mean transient?); allowed keys: auth_file,`},
		{"transient above 1", `{"faults": {"transient": 1.5}}`, "faults.transient", "between 0 and 1"},
		{"transient negative", `{"faults": {"transient": -0.1}}`, "faults.transient", "between 0 and 1"},
		{"transient type", `{"faults": {"transient": "often"}}`, "faults.transient", `must be a share of ReadPage calls between 0 and 1, got "often"`},
		{"rate_limited above 1", `{"faults": {"rate_limited": 2}}`, "faults.rate_limited", "between 0 and 1"},
		{"shares sum above 1", `{"faults": {"transient": 0.7, "rate_limited": 0.5}}`, "faults.rate_limited", "is more than 1"},
		{"retry_after negative", `{"faults": {"retry_after": -1}}`, "faults.retry_after", "between 0 and 3600"},
		{"latency negative", `{"faults": {"latency": -0.5}}`, "faults.latency", "between 0 and 3600"},
		{"latency type", `{"faults": {"latency": "slow"}}`, "faults.latency", `must be a number of seconds between 0 and 3600, got "slow"`},
		{"permanent_at_page negative", `{"faults": {"permanent_at_page": -2}}`, "faults.permanent_at_page", "at least 0"},
		{"permanent_at_page fractional", `{"faults": {"permanent_at_page": 2.5}}`, "faults.permanent_at_page", "must be an integer"},
		{"faults seed type", `{"faults": {"seed": [1]}}`, "faults.seed", "must be an integer, got [1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := memconn.New(nil)
			ferrs, err := c.Configure(context.Background(), json.RawMessage(tt.cfg))
			if err != nil {
				t.Fatalf("Configure returned a plain error %v; want field errors", err)
			}
			if len(ferrs) == 0 {
				t.Fatal("Configure accepted the config")
			}
			if ferrs[0].Field != tt.field || !strings.Contains(ferrs[0].Message, tt.msg) {
				t.Errorf("field error %q: %q; want field %q with %q (all: %v)", ferrs[0].Field, ferrs[0].Message, tt.field, tt.msg, ferrs)
			}
			if c.Check(context.Background()) == nil {
				t.Error("a rejected config left the connector configured")
			}
		})
	}
}

func TestConfigureReportsEveryError(t *testing.T) {
	ferrs, err := memconn.New(nil).Configure(context.Background(),
		json.RawMessage(`{"x": 1, "table_name": 2, "faults": {"transient": 3, "latency": -1}}`))
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, f := range ferrs {
		fields = append(fields, f.Field)
	}
	if got := strings.Join(fields, " "); got != "x table_name faults.transient faults.latency" {
		t.Errorf("fields %q", got)
	}
}

func TestConfigureAccepts(t *testing.T) {
	for _, cfg := range []string{
		``, `null`, `{}`,
		`{"table_name": "t", "dump_path": "/tmp/x.arrow"}`,
		`{"generate": {"rows": 1e+06, "seed": -5}}`,
		`{"generate": {"rows": 10}, "faults": {"seed": 7, "transient": 0.3, "rate_limited": 0.1, "retry_after": 0.05, "latency": 0.3, "permanent_at_page": 12}}`,
		`{"faults": {"transient": 0.5, "rate_limited": 0.5}}`,
		`{"table_name": null, "faults": {"latency": null}, "rows": null}`,
		`{"rows": [{"a": 1, "b": 2.5}, {"a": 2.5, "b": 1}]}`,
	} {
		t.Run(cfg, func(t *testing.T) {
			ferrs, err := memconn.New(nil).Configure(context.Background(), json.RawMessage(cfg))
			if err != nil || len(ferrs) > 0 {
				t.Errorf("Configure = %v, %v", ferrs, err)
			}
		})
	}
}

func TestReconfigureKeepsOldConfigOnError(t *testing.T) {
	c := configured(t, `{"table_name": "a", "generate": {"rows": 3}}`)
	ferrs, _ := c.Configure(context.Background(), json.RawMessage(`{"table_name": 1}`))
	if len(ferrs) == 0 {
		t.Fatal("bad config accepted")
	}
	streams, err := c.Discover(context.Background())
	if err != nil || streams[0].Name != "a" {
		t.Errorf("after a rejected reconfigure: %v, %v", streams, err)
	}
}
