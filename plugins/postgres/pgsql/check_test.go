package pgsql_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/postgres/pgsql"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// offline returns a connector configured for a server nobody listens on:
// CheckWrite must answer without reaching it. cfg's keys replace the
// defaults; a nil value removes one.
func offline(t *testing.T, cfg map[string]any) *pgsql.Connector {
	t.Helper()
	m := map[string]any{"host": "127.0.0.1", "port": 1, "database": "dw", "user": "loader", "connect_timeout": 1}
	for k, v := range cfg {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c := pgsql.New(nil)
	ferrs, err := c.Configure(context.Background(), raw)
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("Configure(%s) = %v, %v", raw, ferrs, err)
	}
	t.Cleanup(c.Close)
	return c
}

func checkWrite(t *testing.T, c *pgsql.Connector, target string) string {
	t.Helper()
	r, err := c.CheckWrite(context.Background(), sdk.WriteRequest{Flow: "p/f", Target: target, Mode: sdk.ModeReplace})
	if err != nil {
		t.Fatalf("CheckWrite(%q): %v", target, err)
	}
	return r
}

// TestCheckWriteResolvesOneTableOnce: the spellings of one table resolve
// equal, across two connectors of the same server and database too; any
// other table, schema, database or server resolves differently. No server
// is reached (nothing listens on port 1).
func TestCheckWriteResolvesOneTableOnce(t *testing.T) {
	one := offline(t, nil)
	two := offline(t, nil)
	want := checkWrite(t, one, "t")
	if want != "postgres://127.0.0.1:1/dw/public.t" {
		t.Fatalf("t resolves to %q", want)
	}
	for name, got := range map[string]string{
		"public.t":                         checkWrite(t, one, "public.t"),
		"t in another connector":           checkWrite(t, two, "t"),
		"public.t in another connector":    checkWrite(t, two, "public.t"),
		"t with schema public set":         checkWrite(t, offline(t, map[string]any{"schema": "public"}), "t"),
		"public.t with another schema set": checkWrite(t, offline(t, map[string]any{"schema": "sales"}), "public.t"),
		"t on the server given as a DSN": checkWrite(t, offline(t, map[string]any{
			"dsn": "postgres://other@127.0.0.1:1/dw", "host": nil, "port": nil, "database": nil, "user": nil}), "t"),
		"t with another user (not in the name)": checkWrite(t, offline(t, map[string]any{"user": "reader"}), "t"),
	} {
		if got != want {
			t.Errorf("%s resolves to %q; t resolves to %q", name, got, want)
		}
	}
	for name, got := range map[string]string{
		"T (names keep their case)": checkWrite(t, one, "T"),
		"sales.t":                   checkWrite(t, one, "sales.t"),
		"t with schema sales set":   checkWrite(t, offline(t, map[string]any{"schema": "sales"}), "t"),
		"t in another database":     checkWrite(t, offline(t, map[string]any{"database": "dw2"}), "t"),
		"t on another port":         checkWrite(t, offline(t, map[string]any{"port": 2}), "t"),
		"t.x (a table named t.x)":   checkWrite(t, one, "public.t.x"),
	} {
		if got == want {
			t.Errorf("%s resolves to %q, as t does", name, got)
		}
	}
	if got, want := checkWrite(t, one, "Sales.Orders"), `postgres://127.0.0.1:1/dw/"Sales"."Orders"`; got != want {
		t.Errorf("Sales.Orders resolves to %q, want %q", got, want)
	}
	if a, b := checkWrite(t, offline(t, map[string]any{"host": "DB.Example.com"}), "t"), checkWrite(t, offline(t, map[string]any{"host": "db.example.com"}), "t"); a != b {
		t.Errorf("host names differing in case resolve to %q and %q", a, b)
	}
	t.Setenv("PGDATABASE", "")
	if got, want := checkWrite(t, offline(t, map[string]any{"database": nil}), "t"), "postgres://127.0.0.1:1/loader/public.t"; got != want {
		t.Errorf("without a database t resolves to %q, want %q (the server's default database is the user's name)", got, want)
	}
}

// TestCheckWriteRefuses: what BeginWrite would refuse before reaching
// the server, CheckWrite refuses, with the same PERMANENT error, without
// reaching it.
func TestCheckWriteRefuses(t *testing.T) {
	name63 := strings.Repeat("a", 63)
	name64 := strings.Repeat("a", 64)
	tests := []struct {
		name    string
		cfg     map[string]any
		req     sdk.WriteRequest
		wantErr string // empty: accepted
	}{
		{"63-byte table", nil, sdk.WriteRequest{Target: name63, Mode: sdk.ModeReplace}, ""},
		{"63-byte schema and table", nil, sdk.WriteRequest{Target: name63 + "." + name63, Mode: sdk.ModeAppend}, ""},
		{"upsert with key", nil, sdk.WriteRequest{Target: "t", Mode: sdk.ModeUpsert, Key: []string{"id"}}, ""},
		{"no mode is replace", nil, sdk.WriteRequest{Target: "t"}, ""},
		{"64-byte table", nil, sdk.WriteRequest{Target: name64, Mode: sdk.ModeReplace},
			`postgres: the table name "` + name64 + `" is 64 bytes long; PostgreSQL keeps only the first 63 bytes of a name (NAMEDATALEN-1)`},
		{"64-byte table after a schema", nil, sdk.WriteRequest{Target: "public." + name64, Mode: sdk.ModeReplace}, "is 64 bytes long"},
		{"multi-byte table over 63 bytes", nil, sdk.WriteRequest{Target: strings.Repeat("é", 32), Mode: sdk.ModeReplace}, "is 64 bytes long"},
		{"64-byte schema", nil, sdk.WriteRequest{Target: name64 + ".t", Mode: sdk.ModeReplace}, `the schema name "` + name64 + `" is 64 bytes long`},
		{"64-byte schema key", map[string]any{"schema": name64}, sdk.WriteRequest{Target: "t", Mode: sdk.ModeReplace}, "the schema name (the connector's schema key)"},
		{"no target", nil, sdk.WriteRequest{Mode: sdk.ModeReplace}, "no target table"},
		{"quoted names", nil, sdk.WriteRequest{Target: `"public"."t"`, Mode: sdk.ModeReplace}, "holds a double quote"},
		{"NUL byte", nil, sdk.WriteRequest{Target: "t\x00", Mode: sdk.ModeReplace}, "NUL byte"},
		{"unknown mode", nil, sdk.WriteRequest{Target: "t", Mode: "merge"}, `unknown write mode "merge"`},
		{"upsert without key", nil, sdk.WriteRequest{Target: "t", Mode: sdk.ModeUpsert}, `upsert into "public"."t" needs key columns`},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := offline(t, tt.cfg)
			req := tt.req
			req.Flow = "p/f"
			_, cerr := c.CheckWrite(ctx, req)
			if tt.wantErr == "" {
				if cerr != nil {
					t.Fatalf("CheckWrite: %v; want it to accept", cerr)
				}
				return
			}
			req.WriteID, req.Schema = "w1", kvSchema
			berr := c.BeginWrite(ctx, req)
			for call, err := range map[string]error{"CheckWrite": cerr, "BeginWrite": berr} {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errclass.Of(err) != errclass.Permanent {
					t.Errorf("%s: %v; want PERMANENT ...%s...", call, err, tt.wantErr)
				}
			}
			if cerr != nil && berr != nil && cerr.Error() != berr.Error() {
				t.Errorf("CheckWrite says\n  %v\nBeginWrite says\n  %v", cerr, berr)
			}
		})
	}
}

// TestCheckWriteAgreesWithBeginWrite: against a real server, the writes
// CheckWrite accepts BeginWrite accepts, and the tables it resolves equal
// are one table: t and SCHEMA.t write the same rows, T another table.
func TestCheckWriteAgreesWithBeginWrite(t *testing.T) {
	e := setup(t)
	d := e.connector(t)
	ctx := e.ctx
	long := strings.Repeat("b", 63)
	tests := []struct {
		name string
		req  sdk.WriteRequest
	}{
		{"replace", sdk.WriteRequest{Target: "t", Mode: sdk.ModeReplace}},
		{"append, schema-qualified", sdk.WriteRequest{Target: e.schema + ".t", Mode: sdk.ModeAppend}},
		{"upsert", sdk.WriteRequest{Target: "u", Mode: sdk.ModeUpsert, Key: []string{"id"}}},
		{"upper case", sdk.WriteRequest{Target: "T", Mode: sdk.ModeAppend}},
		{"63-byte name", sdk.WriteRequest{Target: long, Mode: sdk.ModeReplace}},
	}
	resolved := map[string]string{}
	for i, tt := range tests {
		req := tt.req
		req.Flow = "p/" + tt.name
		r, err := d.CheckWrite(ctx, req)
		if err != nil {
			t.Fatalf("%s: CheckWrite: %v", tt.name, err)
		}
		resolved[tt.name] = r
		req.WriteID, req.Schema = "w"+string(rune('a'+i)), kvSchema
		if err := writeRecords(t, ctx, d, req, kv(kvSchema, i, tt.name)); err != nil {
			t.Fatalf("%s: CheckWrite accepted, the write failed: %v", tt.name, err)
		}
	}
	if resolved["replace"] != resolved["append, schema-qualified"] {
		t.Errorf("t resolves to %q, %s.t to %q", resolved["replace"], e.schema, resolved["append, schema-qualified"])
	}
	if got := e.rowsOf(t, "t"); got != "0=replace 1=append, schema-qualified" {
		t.Errorf("t holds %q: t and %s.t are not one table", got, e.schema)
	}
	if resolved["upper case"] == resolved["replace"] {
		t.Errorf("T resolves to %q, as t does", resolved["upper case"])
	}
	var n int64
	e.scalar(t, `SELECT count(*) FROM `+e.schema+`."T"`, &n)
	if n != 1 {
		t.Errorf(`table "T" holds %d rows, want 1`, n)
	}
	e.scalar(t, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = $2`, &n, e.schema, long)
	if n != 1 {
		t.Errorf("the 63-byte table exists %d times, want 1", n)
	}
	// A refused write leaves nothing on the server: no target, no staging.
	before := e.tables(t)
	req := sdk.WriteRequest{WriteID: "wz", Flow: "p/long", Target: strings.Repeat("c", 64), Schema: kvSchema, Mode: sdk.ModeReplace}
	if err := d.BeginWrite(ctx, req); err == nil || !strings.Contains(err.Error(), "63 bytes") {
		t.Fatalf("BeginWrite of a 64-byte name: %v; want it refused naming 63 bytes", err)
	}
	if after := e.tables(t); after != before {
		t.Errorf("tables before the refused write: %s; after: %s", before, after)
	}
}

// tables lists e's schema's tables.
func (e *env) tables(t *testing.T) string {
	t.Helper()
	var s *string
	e.scalar(t, `SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = $1`, &s, e.schema)
	if s == nil {
		return ""
	}
	return *s
}
