package memconn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestCheckWriteAgreesWithBeginWrite: CheckWrite accepts exactly the
// writes BeginWrite accepts, and refuses the others with the same
// PERMANENT error.
func TestCheckWriteAgreesWithBeginWrite(t *testing.T) {
	tests := []struct {
		name    string
		req     sdk.WriteRequest
		wantErr string // empty: accepted
	}{
		{"replace", sdk.WriteRequest{Target: "t", Mode: sdk.ModeReplace}, ""},
		{"append to table_name", sdk.WriteRequest{Mode: sdk.ModeAppend}, ""},
		{"upsert with key", sdk.WriteRequest{Target: "t", Mode: sdk.ModeUpsert, Key: []string{"k"}}, ""},
		{"default target", sdk.WriteRequest{Target: "orders", DefaultTarget: true, Mode: sdk.ModeReplace}, ""},
		{"upsert without key", sdk.WriteRequest{Target: "t", Mode: sdk.ModeUpsert}, `upsert into memory table "t" needs key columns`},
		{"unknown mode", sdk.WriteRequest{Target: "t", Mode: "merge"}, `unknown write mode "merge"; the memory destination accepts replace, append and upsert`},
		{"no mode", sdk.WriteRequest{Target: "t"}, `unknown write mode ""`},
	}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, `{"table_name": "tn"}`)
			req := tt.req
			req.Flow = "p/f"
			resolved, cerr := c.CheckWrite(ctx, req)
			req.WriteID, req.Schema = "w"+string(rune('a'+i)), kvSchema
			berr := c.BeginWrite(ctx, req)
			if tt.wantErr == "" {
				if cerr != nil || berr != nil {
					t.Fatalf("CheckWrite: %v; BeginWrite: %v; want both to accept", cerr, berr)
				}
				if !strings.HasPrefix(resolved, "memory://") {
					t.Fatalf("resolved %q, want memory://...", resolved)
				}
				return
			}
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

// TestCheckWriteResolvesTables: a table resolves equal within one
// destination (however it is named) and differently in another, whose
// tables are its own; with dump_path, the dump file is what two
// destinations can share.
func TestCheckWriteResolvesTables(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()
	check := func(c *memconn.Connector, target string) string {
		t.Helper()
		r, err := c.CheckWrite(ctx, sdk.WriteRequest{Flow: "p/f", Target: target, Mode: sdk.ModeAppend})
		if err != nil {
			t.Fatalf("CheckWrite(%q): %v", target, err)
		}
		return r
	}
	one := configured(t, `{"table_name": "t"}`)
	two := configured(t, `{"table_name": "t"}`)
	if a, b := check(one, "t"), check(one, ""); a != b {
		t.Errorf("t resolves to %q, the default table t to %q", a, b)
	}
	if a, b := check(one, "t"), check(one, "t"); a != b {
		t.Errorf("t resolves to %q, then to %q", a, b)
	}
	if a, b := check(one, "t"), check(one, "u"); a == b {
		t.Errorf("t and u both resolve to %q", a)
	}
	if a, b := check(one, "t"), check(two, "t"); a == b {
		t.Errorf("table t of two destinations resolves to %q in both; each has its own", a)
	}

	if err := os.Mkdir("dumps", 0o755); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(wd)
	if err != nil {
		t.Fatal(err)
	}
	d1 := configured(t, `{"dump_path": "dumps/{table}.arrow"}`)
	d2 := configured(t, `{"dump_path": "`+filepath.Join(wd, "dumps", "{table}.arrow")+`"}`)
	fixed := configured(t, `{"dump_path": "dumps/all.arrow"}`)
	want := "file:" + filepath.Join(real, "dumps", "t.arrow")
	for name, got := range map[string]string{
		"t":                          check(d1, "t"),
		"t in another destination":   check(d2, "t"),
		"t dumped to a fixed file t": check(configured(t, `{"dump_path": "dumps/t.arrow"}`), "x"),
	} {
		if got != want {
			t.Errorf("%s resolves to %q, want %q", name, got, want)
		}
	}
	if a, b := check(d1, "t"), check(d1, "u"); a == b {
		t.Errorf("t and u dumped to {table}.arrow both resolve to %q", a)
	}
	if a, b := check(fixed, "t"), check(fixed, "u"); a != b {
		t.Errorf("t and u dumped to one file resolve to %q and %q", a, b)
	}
	if _, err := os.Stat("dumps/t.arrow"); err == nil {
		t.Error("CheckWrite wrote the dump")
	}
}
