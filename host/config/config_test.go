package config_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// env returns a lookup function over vars.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// head is a valid start of a pipeline file, to which cases add flows.
const head = `version: 1
sources:
  orders_csv: {type: csv, path: orders.csv}
  customers: {type: postgres, table: customers}
destinations:
  lake: {type: parquet, path: out}
  warehouse: {type: postgres}
`

func mustParse(t *testing.T, src string, vars map[string]string) *config.Pipeline {
	t.Helper()
	p, err := config.Parse("pipeline.yaml", []byte(src), env(vars))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseFull(t *testing.T) {
	src := `version: 1                      # required, must be 1
plugins_dir: ./plugins
sources:
  orders_csv:
    type: csv
    path: ${DATA_DIR:-data}/orders.csv
    resilience: {retry_attempts: 5}
destinations:
  lake: {type: parquet, path: out, resilience: false}
flows:
  - name: orders_to_lake
    from: orders_csv
    stream: orders
    to: lake
    target: orders.parquet
    mode: upsert
    key: [id]
    incremental: {cursor: updated_at}
`
	p := mustParse(t, src, nil)
	if p.Version != 1 || p.Path != "pipeline.yaml" || p.Dir != "." {
		t.Errorf("Version, Path, Dir = %d, %q, %q", p.Version, p.Path, p.Dir)
	}
	if p.PluginsDir != "plugins" || p.PluginsDirPos.String() != "pipeline.yaml:2:14" {
		t.Errorf("PluginsDir = %q at %v", p.PluginsDir, p.PluginsDirPos)
	}
	src1 := p.Sources["orders_csv"]
	if src1 == nil || src1.Type != "csv" || src1.Role != config.RoleSource || src1.Pos.String() != "pipeline.yaml:4:3" {
		t.Fatalf("source = %+v", src1)
	}
	if want := map[string]any{"path": "data/orders.csv"}; !reflect.DeepEqual(src1.Config, want) {
		t.Errorf("Config = %#v, want %#v", src1.Config, want)
	}
	if src1.Resilience == nil || src1.Resilience.Line != 7 {
		t.Errorf("Resilience = %+v", src1.Resilience)
	}
	if r := p.Destinations["lake"].Resilience; r == nil || r.Value != "false" {
		t.Errorf("lake Resilience = %+v", r)
	}
	if !reflect.DeepEqual(p.SourceNames, []string{"orders_csv"}) || !reflect.DeepEqual(p.DestinationNames, []string{"lake"}) {
		t.Errorf("names = %v, %v", p.SourceNames, p.DestinationNames)
	}
	if len(p.Flows) != 1 {
		t.Fatalf("flows = %d", len(p.Flows))
	}
	f := p.Flows[0]
	want := config.Flow{Name: "orders_to_lake", From: "orders_csv", Stream: "orders", To: "lake",
		Target: "orders.parquet", Mode: sdk.ModeUpsert, Key: []string{"id"}}
	if f.Name != want.Name || f.From != want.From || f.Stream != want.Stream || f.To != want.To ||
		f.Target != want.Target || f.Mode != want.Mode || !reflect.DeepEqual(f.Key, want.Key) {
		t.Errorf("flow = %+v", f)
	}
	if f.Incremental == nil || f.Incremental.Cursor != "updated_at" {
		t.Errorf("Incremental = %+v", f.Incremental)
	}
	if got := f.FieldPos("mode").String(); got != "pipeline.yaml:16:11" {
		t.Errorf("FieldPos(mode) = %s", got)
	}
	if got := f.Pos.String(); got != "pipeline.yaml:11:5" {
		t.Errorf("Pos = %s", got)
	}
}

func TestFlowDefaults(t *testing.T) {
	tests := []struct {
		name  string
		flows string
		want  []config.Flow // Name, Stream, Target, Mode, Key
	}{
		{
			name:  "minimal flow",
			flows: "  - {from: orders_csv, to: lake}\n",
			want:  []config.Flow{{Name: "orders_csv_to_lake", Mode: sdk.ModeReplace}},
		},
		{
			name:  "target defaults to the stream",
			flows: "  - {from: orders_csv, stream: orders, to: lake, mode: append}\n",
			want:  []config.Flow{{Name: "orders_csv_to_lake", Stream: "orders", Target: "orders", Mode: sdk.ModeAppend}},
		},
		{
			name: "same source and destination twice: the target tells them apart",
			flows: "  - {from: customers, stream: public.a, to: lake}\n" +
				"  - {from: customers, stream: b, to: lake, target: b.parquet}\n",
			want: []config.Flow{
				{Name: "customers_to_lake_public_a", Stream: "public.a", Target: "public.a", Mode: sdk.ModeReplace},
				{Name: "customers_to_lake_b_parquet", Stream: "b", Target: "b.parquet", Mode: sdk.ModeReplace},
			},
		},
		{
			name: "an explicit name taking the default",
			flows: "  - {name: customers_to_lake, from: orders_csv, to: lake}\n" +
				"  - {from: customers, stream: c, to: lake}\n",
			want: []config.Flow{
				{Name: "customers_to_lake", Mode: sdk.ModeReplace},
				{Name: "customers_to_lake_c", Stream: "c", Target: "c", Mode: sdk.ModeReplace},
			},
		},
		{
			name:  "key as a single string",
			flows: "  - {from: orders_csv, to: warehouse, mode: upsert, key: id}\n",
			want:  []config.Flow{{Name: "orders_csv_to_warehouse", Mode: sdk.ModeUpsert, Key: []string{"id"}}},
		},
		{
			name:  "null values are left out",
			flows: "  - {from: orders_csv, to: lake, stream: ~, mode: null, name: }\n",
			want:  []config.Flow{{Name: "orders_csv_to_lake", Mode: sdk.ModeReplace}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, head+"flows:\n"+tt.flows, nil)
			if len(p.Flows) != len(tt.want) {
				t.Fatalf("got %d flows, want %d", len(p.Flows), len(tt.want))
			}
			for i, w := range tt.want {
				f := p.Flows[i]
				if f.Name != w.Name || f.Stream != w.Stream || f.Target != w.Target || f.Mode != w.Mode || !reflect.DeepEqual(f.Key, w.Key) {
					t.Errorf("flow %d = {Name:%q Stream:%q Target:%q Mode:%q Key:%q}, want %+v", i, f.Name, f.Stream, f.Target, f.Mode, f.Key, w)
				}
			}
		})
	}
}

// TestParseErrors checks the exact text of the errors users see.
func TestParseErrors(t *testing.T) {
	flow := "flows:\n  - {from: orders_csv, to: lake}\n"
	tests := []struct {
		name string
		src  string
		vars map[string]string
		want string
	}{
		{
			name: "empty file",
			src:  "",
			want: "pipeline.yaml: the file is empty; a pipeline needs version, sources, destinations and flows",
		},
		{
			name: "only comments",
			src:  "# nothing yet\n",
			want: "pipeline.yaml: the file is empty; a pipeline needs version, sources, destinations and flows",
		},
		{
			name: "syntax error",
			src:  "version: 1\nsources: [\n",
			want: "pipeline.yaml:2: invalid YAML: did not find expected node content",
		},
		{
			name: "two documents",
			src:  head + flow + "---\nversion: 1\n",
			want: "pipeline.yaml:11:1: a second YAML document starts here; a pipeline file holds one document",
		},
		{
			name: "not a mapping",
			src:  "- version: 1\n",
			want: "pipeline.yaml:1:1: the file must be a mapping (a pipeline needs version, sources, destinations and flows), not a list",
		},
		{
			name: "unknown top-level key",
			src:  head + flow + "flow:\n  - {}\n",
			want: "pipeline.yaml:10:1: flow: unknown key (did you mean flows?); allowed keys are version, name, plugins_dir, state_dir, sources, destinations, flows (and x-* keys, which are ignored)",
		},
		{
			name: "version missing",
			src:  strings.TrimPrefix(head, "version: 1\n") + flow,
			want: "pipeline.yaml:1:1: version: missing; add \"version: 1\" at the top of the file",
		},
		{
			name: "version 2",
			src:  "version: 2\n" + strings.TrimPrefix(head, "version: 1\n") + flow,
			want: "pipeline.yaml:1:10: version: 2 is not supported; this host reads version 1",
		},
		{
			name: "version as a string",
			src:  "version: \"1\"\n" + strings.TrimPrefix(head, "version: 1\n") + flow,
			want: "pipeline.yaml:1:10: version: must be the number 1, not a string",
		},
		{
			name: "sources as a list",
			src:  "version: 1\nsources: []\ndestinations: {lake: {type: parquet}}\n" + flow,
			want: "pipeline.yaml:2:10: sources: must be a mapping of source names to their settings, not a list",
		},
		{
			name: "missing type",
			src:  strings.Replace(head, "{type: csv, path: orders.csv}", "{path: orders.csv}", 1) + flow,
			want: "pipeline.yaml:3:3: sources.orders_csv.type: missing; set it to the connector type (csv, postgres, ...)",
		},
		{
			name: "bad type",
			src:  strings.Replace(head, "type: csv", "type: ../csv", 1) + flow,
			want: "pipeline.yaml:3:22: sources.orders_csv.type: \"../csv\" is not a connector type; a type is lowercase letters, digits, _ and -, starting with a letter, at most 64 characters (csv, postgres, ...)",
		},
		{
			name: "connector not a mapping",
			src:  head + "  archive: s3\n" + flow,
			want: "pipeline.yaml:8:12: destinations.archive: must be a mapping with type and the connector's settings, not a string",
		},
		{
			name: "bad instance name",
			src:  head + "  9lives: {type: csv}\n" + flow,
			want: "pipeline.yaml:8:3: destinations.9lives: invalid destination name; a name starts with a letter or _ and holds only letters, digits, _ and - (at most 128 characters)",
		},
		{
			name: "duplicate connector key",
			src:  strings.Replace(head, "path: orders.csv}", "path: a.csv, path: b.csv}", 1) + flow,
			want: "pipeline.yaml:3:40: sources.orders_csv: duplicate key \"path\" (first at line 3)",
		},
		{
			name: "duplicate instance",
			src:  head + "  lake: {type: csv}\n" + flow,
			want: "pipeline.yaml:8:3: destinations: duplicate key \"lake\" (first at line 6)",
		},
		{
			name: "resilience of the wrong type",
			src:  strings.Replace(head, "path: out}", "path: out, resilience: [retry]}", 1) + flow,
			want: "pipeline.yaml:6:48: destinations.lake.resilience: must be a mapping of resilience settings or false, not a list",
		},
		{
			name: "undefined env var",
			src:  strings.Replace(head, "path: out}", "path: \"${OUT_DIR}/x\"}", 1) + flow,
			want: "pipeline.yaml:6:31: destinations.lake.path: environment variable OUT_DIR is not set (write ${OUT_DIR:-default} to give a default)",
		},
		{
			name: "bad env reference",
			src:  strings.Replace(head, "path: out}", "path: \"${1X}\"}", 1) + flow,
			want: "pipeline.yaml:6:31: destinations.lake.path: \"${1X}\" is not a valid variable reference; use ${NAME} or ${NAME:-default}, where NAME holds letters, digits and _ and does not start with a digit",
		},
		{
			name: "undefined env var in a flow",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, target: \"$TGT_${TGT}\"}\n",
			want: "pipeline.yaml:9:42: flows[0].target: environment variable TGT is not set (write ${TGT:-default} to give a default)",
		},
		{
			name: "no flows key",
			src:  head,
			want: "pipeline.yaml:1:1: flows: missing: nothing to run; add at least one flow from a source to a destination",
		},
		{
			name: "empty flows",
			src:  head + "flows: []\n",
			want: "pipeline.yaml:8:8: flows: empty: nothing to run; add at least one flow from a source to a destination",
		},
		{
			name: "flows as a mapping",
			src:  head + "flows: {a: b}\n",
			want: "pipeline.yaml:8:8: flows: must be a list of flows, not a mapping",
		},
		{
			name: "flow not a mapping",
			src:  head + "flows: [orders_csv]\n",
			want: "pipeline.yaml:8:9: flows[0]: must be a mapping with from, to and the flow's settings, not a string",
		},
		{
			name: "unknown flow key",
			src:  head + "flows:\n  - from: orders_csv\n    to: lake\n    tagret: x\n",
			want: "pipeline.yaml:11:5: flows[0].tagret: unknown key (did you mean target?); allowed keys are name, from, stream, to, target, mode, key, incremental, schedule",
		},
		{
			name: "bad mode",
			src:  head + "flows:\n  - from: orders_csv\n    to: lake\n    mode: merge\n",
			want: "pipeline.yaml:11:11: flows[0].mode: \"merge\" is not allowed; use replace, append or upsert",
		},
		{
			name: "mode as a number",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, mode: 3}\n",
			want: "pipeline.yaml:9:40: flows[0].mode: 3 is not allowed; use replace, append or upsert",
		},
		{
			name: "mode as a list",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, mode: [replace]}\n",
			want: "pipeline.yaml:9:40: flows[0].mode: must be a string, not a list",
		},
		{
			name: "key as a mapping",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, mode: upsert, key: {a: 1}}\n",
			want: "pipeline.yaml:9:53: flows[0].key: must be a column name or a list of column names, not a mapping",
		},
		{
			name: "key listed twice",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, mode: upsert, key: [id, id]}\n",
			want: "pipeline.yaml:9:58: flows[0].key[1]: column \"id\" is listed twice",
		},
		{
			name: "upsert without key",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, mode: upsert}\n",
			want: "pipeline.yaml:9:40: flows[0].key: missing: mode upsert needs key, the list of key columns",
		},
		{
			name: "upsert with an empty key",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, mode: upsert, key: []}\n",
			want: "pipeline.yaml:9:53: flows[0].key: is empty: mode upsert needs at least one key column",
		},
		{
			name: "key without upsert",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, key: [id]}\n",
			want: "pipeline.yaml:9:39: flows[0].key: is used only with mode upsert; remove it or set mode: upsert",
		},
		{
			name: "missing from",
			src:  head + "flows:\n  - {to: lake}\n",
			want: "pipeline.yaml:9:5: flows[0].from: missing; set it to the name of a source (the sources are orders_csv, customers)",
		},
		{
			name: "missing source",
			src:  head + "flows:\n  - {from: orders, to: lake}\n",
			want: "pipeline.yaml:9:12: flows[0].from: no source named \"orders\"; the sources are orders_csv, customers",
		},
		{
			name: "misspelt source",
			src:  head + "flows:\n  - {from: order_csv, to: lake}\n",
			want: "pipeline.yaml:9:12: flows[0].from: no source named \"order_csv\" (did you mean orders_csv?); the sources are orders_csv, customers",
		},
		{
			name: "missing destination, none defined",
			src:  "version: 1\nsources: {a: {type: csv}}\nflows: [{from: a, to: b}]\n",
			want: "pipeline.yaml:3:23: flows[0].to: no destination named \"b\"; the file defines no destinations",
		},
		{
			name: "from names a destination",
			src:  head + "flows:\n  - {from: lake, to: warehouse}\n",
			want: "pipeline.yaml:9:12: flows[0].from: \"lake\" is a destination, not a source; the sources are orders_csv, customers",
		},
		{
			name: "bad flow name",
			src:  head + "flows:\n  - {name: my flow, from: orders_csv, to: lake}\n",
			want: "pipeline.yaml:9:12: flows[0].name: \"my flow\" is not a valid flow name; a name starts with a letter or _ and holds only letters, digits, _ and - (at most 128 characters)",
		},
		{
			name: "duplicate flow names",
			src:  head + "flows:\n  - {name: f, from: orders_csv, to: lake}\n  - {name: f, from: customers, to: lake}\n",
			want: "pipeline.yaml:10:12: flows[1].name: \"f\" is already the name of flows[0] (line 9); flow names must be unique",
		},
		{
			name: "duplicate default names",
			src:  head + "flows:\n  - {from: orders_csv, to: lake}\n  - {from: orders_csv, to: lake}\n",
			want: "pipeline.yaml:10:5: flows[1].name: the default name \"orders_csv_to_lake\" is already the name of flows[0] (line 9); set name to tell them apart\n" +
				"pipeline.yaml:10:5: flows[1].target: flows[1] writes the stream of source \"orders_csv\" in destination \"lake\", as flows[0] (line 9) does; the two would overwrite each other",
		},
		{
			name: "same target twice",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, target: t}\n  - {from: customers, to: lake, target: t}\n",
			want: "pipeline.yaml:10:41: flows[1].target: flows[1] writes target \"t\" in destination \"lake\", as flows[0] (line 9) does; the two would overwrite each other",
		},
		{
			name: "incremental without cursor",
			src:  head + "flows:\n  - {from: orders_csv, to: lake, incremental: {column: x}}\n",
			want: "pipeline.yaml:9:47: flows[0].incremental.cursor: missing; set it to the cursor column, e.g. updated_at\n" +
				"pipeline.yaml:9:48: flows[0].incremental.column: unknown key; allowed keys are cursor",
		},
		{
			name: "alias cycle",
			src:  strings.Replace(head, "path: out}", "path: &a [*a]}", 1) + flow,
			want: "pipeline.yaml:6:35: destinations.lake.path[0]: alias *a refers to a value that contains it",
		},
		{
			name: "not a finite number",
			src:  strings.Replace(head, "path: out}", "path: .inf}", 1) + flow,
			want: "pipeline.yaml:6:31: destinations.lake.path: is not a finite number; connector settings travel as JSON, which cannot hold it",
		},
		{
			name: "several problems at once, in file order",
			src: "version: 3\nsources:\n  s: {path: x}\ndestinations:\n  d: {type: csv}\n" +
				"flows:\n  - {from: s, to: d, mode: merge}\n  - {from: x, to: d}\n",
			want: "pipeline.yaml:1:10: version: 3 is not supported; this host reads version 1\n" +
				"pipeline.yaml:3:3: sources.s.type: missing; set it to the connector type (csv, postgres, ...)\n" +
				"pipeline.yaml:7:28: flows[0].mode: \"merge\" is not allowed; use replace, append or upsert\n" +
				"pipeline.yaml:8:12: flows[1].from: no source named \"x\" (did you mean s?); the sources are s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := config.Parse("pipeline.yaml", []byte(tt.src), env(tt.vars))
			if err == nil {
				t.Fatalf("Parse succeeded (%d flows); want error:\n%s", len(p.Flows), tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
			var list config.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Errorf("error is a %T, not a non-empty ErrorList", err)
			}
			var one *config.Error
			if !errors.As(err, &one) {
				t.Errorf("errors.As(*Error) failed")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pipeline.yaml")
	src := head + "plugins_dir: ${PLUGINS:-bin}\nflows:\n  - {from: orders_csv, to: lake}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Dir != dir || p.PluginsDir != filepath.Join(dir, "bin") {
		t.Errorf("Dir, PluginsDir = %q, %q", p.Dir, p.PluginsDir)
	}
	t.Setenv("PLUGINS", "/opt/plugins")
	if p, err = config.Load(path); err != nil || p.PluginsDir != "/opt/plugins" {
		t.Errorf("with $PLUGINS: %q, %v", p.PluginsDir, err)
	}

	missing := filepath.Join(dir, "nope.yaml")
	_, err = config.Load(missing)
	if err == nil || err.Error() != missing+": the pipeline file does not exist" {
		t.Errorf("missing file: %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: errors.Is(err, fs.ErrNotExist) is false")
	}
	_, err = config.Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), dir+": cannot read the pipeline file: ") {
		t.Errorf("directory: %v", err)
	}
}

func TestEnv(t *testing.T) {
	src := `version: 1
sources:
  pg:
    type: postgres
    host: ${PG_HOST:-localhost}
    port: ${PG_PORT}
    quoted_port: "${PG_PORT}"
    password: ${PG_PASSWORD}
    user: ${PG_USER:-${USER}}
    price: $$5 and $x
    auth: {token: abc, type: bearer}
    hosts: [a, "${PG_HOST:-b}"]
    enabled: ${ENABLED:-true}
    empty: "${EMPTY:-}"
    password_file: ${SECRETS}/pg
destinations:
  d: {type: csv}
flows: [{from: pg, to: d}]
`
	vars := map[string]string{"PG_PORT": "5432", "PG_PASSWORD": "123456", "USER": "me", "SECRETS": "/run/secrets", "EMPTY": ""}
	p := mustParse(t, src, vars)
	c := p.Sources["pg"]
	want := map[string]any{
		"host":          "localhost",
		"port":          5432,
		"quoted_port":   "5432",
		"password":      "123456", // secret-looking keys stay strings
		"user":          "me",
		"price":         "$5 and $x",
		"auth":          map[string]any{"token": "abc", "type": "bearer"},
		"hosts":         []any{"a", "b"},
		"enabled":       true,
		"empty":         "",
		"password_file": "/run/secrets/pg",
	}
	if !reflect.DeepEqual(c.Config, want) {
		t.Errorf("Config =\n%#v\nwant\n%#v", c.Config, want)
	}
	wantEnv := map[string][]string{
		"host": {"PG_HOST"}, "port": {"PG_PORT"}, "quoted_port": {"PG_PORT"}, "password": {"PG_PASSWORD"},
		"user": {"PG_USER", "USER"}, "hosts.1": {"PG_HOST"}, "enabled": {"ENABLED"}, "empty": {"EMPTY"},
		"password_file": {"SECRETS"},
	}
	if !reflect.DeepEqual(c.EnvFields, wantEnv) {
		t.Errorf("EnvFields = %v, want %v", c.EnvFields, wantEnv)
	}
	red := map[string]any{
		"host": "***", "port": "***", "quoted_port": "***", "password": "***", "user": "***",
		"price": "$5 and $x", "auth": map[string]any{"token": "***", "type": "bearer"},
		"hosts": []any{"a", "***"}, "enabled": "***", "empty": "***", "password_file": "***",
	}
	if got := c.Redacted(); !reflect.DeepEqual(got, red) {
		t.Errorf("Redacted =\n%#v\nwant\n%#v", got, red)
	}
	if c.Config["password"] != "123456" {
		t.Errorf("Redacted changed Config")
	}
	js, err := c.ConfigJSON()
	if err != nil || !strings.Contains(string(js), `"port":5432`) {
		t.Errorf("ConfigJSON = %s, %v", js, err)
	}

	// Resolve expands again from a new environment without changing c.
	vars["PG_PASSWORD"] = "rotated"
	cfg, err := c.Resolve(env(vars))
	if err != nil || cfg["password"] != "rotated" || c.Config["password"] != "123456" {
		t.Errorf("Resolve = %v, %v; Config[password] = %v", cfg["password"], err, c.Config["password"])
	}
	delete(vars, "PG_PORT")
	_, err = c.Resolve(env(vars))
	if want := "pipeline.yaml:6:11: sources.pg.port: environment variable PG_PORT is not set (write ${PG_PORT:-default} to give a default)\n" +
		"pipeline.yaml:7:18: sources.pg.quoted_port: environment variable PG_PORT is not set (write ${PG_PORT:-default} to give a default)"; err == nil || err.Error() != want {
		t.Errorf("Resolve without PG_PORT: %v", err)
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	src := head + "  bad: {type: csv, password: \"${PW}\", x: \"${PW}${NOPE}\", y: !!int \"${PW}\"}\n" + "flows: [{from: orders_csv, to: lake}]\n"
	_, err := config.Parse("pipeline.yaml", []byte(src), env(map[string]string{"PW": "hunter2"}))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows a secret: %v", err)
	}
}

func TestIsSecretKey(t *testing.T) {
	for _, k := range []string{"password", "PASSWORD", "secret", "token", "key_value", "access_key_id", "secret_access_key",
		"session_token", "credentials_json", "api_key", "private_key", "client_secret", "db_password", "access_token",
		"webhook_secret", "dsn", "Authorization"} {
		if !config.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
	}
	for _, k := range []string{"password_file", "credentials_file", "key", "path", "token_url", "username", "key_name"} {
		if config.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
}

func TestLocate(t *testing.T) {
	src := `version: 1
x-defaults: &defaults
  timeout: 30
sources:
  api:
    <<: *defaults
    type: rest
    url: https://example.com
    pagination:
      page_size: 0
    headers:
      - {name: A}
      - {name: B}
destinations:
  d: {type: csv}
flows: [{from: api, to: d}]
`
	p := mustParse(t, src, nil)
	c := p.Sources["api"]
	if c.Config["timeout"] != 30 {
		t.Errorf("merged timeout = %v", c.Config["timeout"])
	}
	tests := []struct{ field, want string }{
		{"", "pipeline.yaml:5:3"},
		{"url", "pipeline.yaml:8:10"},
		{"pagination.page_size", "pipeline.yaml:10:18"},
		{"pagination.size_param", "pipeline.yaml:10:7"}, // nearest parent
		{"headers.1.name", "pipeline.yaml:13:16"},
		{"headers.7", "pipeline.yaml:12:7"},
		{"timeout", "pipeline.yaml:3:12"}, // where the merged value is
		{"nope.deeper", "pipeline.yaml:5:3"},
	}
	for _, tt := range tests {
		if got := c.Locate(tt.field).String(); got != tt.want {
			t.Errorf("Locate(%q) = %s, want %s", tt.field, got, tt.want)
		}
	}
	if got := c.KeyPos("pagination").String(); got != "pipeline.yaml:9:5" {
		t.Errorf("KeyPos(pagination) = %s", got)
	}
	fe := c.FieldError(sdk.FieldError{Field: "pagination.page_size", Message: "must be at least 1"})
	if want := "pipeline.yaml:10:18: sources.api.pagination.page_size: must be at least 1"; fe.Error() != want {
		t.Errorf("FieldError = %s", fe)
	}
	fe = c.FieldError(sdk.FieldError{Field: "headers.1.value", Message: "missing"})
	if want := "pipeline.yaml:13:9: sources.api.headers[1].value: missing"; fe.Error() != want {
		t.Errorf("FieldError = %s", fe)
	}
}

func TestCheckModes(t *testing.T) {
	src := head + `flows:
  - {from: orders_csv, to: lake}
  - {from: customers, to: lake, mode: upsert, key: id}
  - {from: customers, to: warehouse, mode: upsert, key: id, target: c}
`
	p := mustParse(t, src, nil)
	parquet := sdk.Spec{Name: "parquet", Destination: true}
	tests := []struct {
		name  string
		specs map[string]sdk.Spec
		want  string
	}{
		{
			name:  "empty WriteModes: replace and append",
			specs: map[string]sdk.Spec{"lake": parquet, "warehouse": {Name: "postgres", WriteModes: []sdk.WriteMode{"replace", "append", "upsert"}}},
			want:  "pipeline.yaml:10:39: flows[1].mode: \"upsert\" is not supported by destination \"lake\" (parquet); use replace or append",
		},
		{
			name:  "default mode refused",
			specs: map[string]sdk.Spec{"lake": {WriteModes: []sdk.WriteMode{"append"}}},
			want: "pipeline.yaml:9:5: flows[0].mode: the default mode replace is not supported by destination \"lake\" (parquet); use append\n" +
				"pipeline.yaml:10:39: flows[1].mode: \"upsert\" is not supported by destination \"lake\" (parquet); use append",
		},
		{
			name:  "all accepted; missing specs are not checked",
			specs: map[string]sdk.Spec{"lake": {WriteModes: []sdk.WriteMode{"replace", "upsert"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.CheckModes(tt.specs)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("CheckModes:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *config.Error
		want string
	}{
		{&config.Error{Pos: config.Position{File: "p.yaml", Line: 12, Col: 11}, Path: "flows[2].mode", Msg: "m"}, "p.yaml:12:11: flows[2].mode: m"},
		{&config.Error{Pos: config.Position{File: "p.yaml", Line: 3}, Msg: "m"}, "p.yaml:3: m"},
		{&config.Error{Pos: config.Position{File: "p.yaml"}, Path: "version", Msg: "m"}, "p.yaml: version: m"},
		{&config.Error{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestConfigJSONOfEveryScalar(t *testing.T) {
	src := head + "  all: {type: csv, s: x, i: -3, f: 1.5, b: false, n: null, t: 2024-01-02, big: 18446744073709551615, list: [], map: {}}\n" +
		"flows: [{from: orders_csv, to: lake}]\n"
	p := mustParse(t, src, nil)
	js, err := p.Destinations["all"].ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back["t"] != "2024-01-02" || back["big"] != 18446744073709551615.0 || back["n"] != nil || back["b"] != false {
		t.Errorf("ConfigJSON = %s", js)
	}
}

// A NUL byte in any string of the file (a "\0" escape) is refused at its
// place: in a connector's path, in a flow's target.
func TestNULBytesAreRefused(t *testing.T) {
	_, err := config.Parse("p.yaml", []byte("version: 1\nsources:\n  a: {type: csv, path: \"in\\0.csv\"}\ndestinations:\n  b: {type: csv, path: out}\nflows:\n  - {from: a, to: b, target: \"x\\0y\"}\n"), nil)
	want := []string{
		"p.yaml:3:24: sources.a.path: holds a NUL byte",
		"p.yaml:7:30: flows[0].target: holds a NUL byte",
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Fatalf("got %v; want %q", err, w)
		}
	}
}
