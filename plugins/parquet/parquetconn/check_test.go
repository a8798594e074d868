package parquetconn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

var idSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)

// TestCheckWriteAgreesWithBeginWrite: CheckWrite accepts exactly the
// writes BeginWrite accepts, and refuses the others with the same
// PERMANENT error.
func TestCheckWriteAgreesWithBeginWrite(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	if err := os.MkdirAll(filepath.Join(lake, "sub.parquet"), 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(dir, "elsewhere.parquet")
	if err := os.WriteFile(elsewhere, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(lake, "linked.parquet")); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single", "one.parquet")
	tests := []struct {
		name, path string
		req        sdk.WriteRequest
		wantErr    string // empty: accepted
	}{
		{"replace", lake, sdk.WriteRequest{Target: "orders", Mode: sdk.ModeReplace}, ""},
		{"append with extension", lake, sdk.WriteRequest{Target: "orders.parquet", Mode: sdk.ModeAppend}, ""},
		{"default target in a directory", lake, sdk.WriteRequest{Target: "orders", DefaultTarget: true, Mode: sdk.ModeReplace}, ""},
		{"default target of a single-file path", single, sdk.WriteRequest{Target: "orders", DefaultTarget: true, Mode: sdk.ModeReplace}, ""},
		{"single-file path, its name", single, sdk.WriteRequest{Target: "one.parquet", Mode: sdk.ModeAppend}, ""},
		{"single-file path, another target", single, sdk.WriteRequest{Target: "orders", Mode: sdk.ModeReplace}, "names a single file"},
		{"upsert", lake, sdk.WriteRequest{Target: "orders", Mode: sdk.ModeUpsert, Key: []string{"id"}}, "does not support mode upsert"},
		{"unknown mode", lake, sdk.WriteRequest{Target: "orders", Mode: "merge"}, `unknown write mode "merge"`},
		{"subdirectory", lake, sdk.WriteRequest{Target: "2024/orders", Mode: sdk.ModeReplace}, "plain file name"},
		{"symbolic link", lake, sdk.WriteRequest{Target: "linked", Mode: sdk.ModeAppend}, "is a symbolic link"},
		{"directory", lake, sdk.WriteRequest{Target: "sub", Mode: sdk.ModeReplace}, "is a directory"},
		{"NUL byte", lake, sdk.WriteRequest{Target: "or\x00ders", Mode: sdk.ModeReplace}, "NUL byte"},
		{"directory under a file", filepath.Join(elsewhere, "lake"), sdk.WriteRequest{Target: "orders", Mode: sdk.ModeReplace}, "not a directory"},
	}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pq(t, map[string]any{"path": tt.path})
			req := tt.req
			req.Flow = "f"
			resolved, cerr := c.(sdk.WriteChecker).CheckWrite(ctx, req)
			req.WriteID, req.Schema = "w"+string(rune('a'+i)), idSchema
			berr := c.BeginWrite(ctx, req)
			if berr == nil {
				defer c.AbortWrite(ctx, req.WriteID)
			}
			if tt.wantErr == "" {
				if cerr != nil || berr != nil {
					t.Fatalf("CheckWrite: %v; BeginWrite: %v; want both to accept", cerr, berr)
				}
				if !strings.HasPrefix(resolved, "file:/") || !strings.HasSuffix(resolved, ".parquet") {
					t.Fatalf("resolved %q, want file:/....parquet", resolved)
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

// TestCheckWriteResolvesOneFileOnce: the spellings of one target file
// resolve equal, within a destination and across two destinations of the
// same path; other files resolve differently.
func TestCheckWriteResolvesOneFileOnce(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	one := pq(t, map[string]any{"path": "lake"})
	two := pq(t, map[string]any{"path": "lake", "compression": "snappy"})
	abs := pq(t, map[string]any{"path": filepath.Join(wd, "lake")})
	single := pq(t, map[string]any{"path": "lake/x.parquet"})
	check := func(c connector, target string, isDefault bool) string {
		t.Helper()
		r, err := c.(sdk.WriteChecker).CheckWrite(ctx, sdk.WriteRequest{Flow: "f", Target: target, DefaultTarget: isDefault, Mode: sdk.ModeAppend})
		if err != nil {
			t.Fatalf("CheckWrite(%q): %v", target, err)
		}
		return r
	}
	want := check(one, "x", false)
	for name, got := range map[string]string{
		"x.parquet":                             check(one, "x.parquet", false),
		"x in another destination":              check(two, "x", false),
		"x under the absolute path":             check(abs, "x", false),
		"the stream x as default target":        check(one, "x", true),
		"path lake/x.parquet, stream y default": check(single, "y", true),
	} {
		if got != want {
			t.Errorf("%s resolves to %q; x resolves to %q", name, got, want)
		}
	}
	if got := check(one, "y", false); got == want {
		t.Errorf("y resolves to %q, as x does", got)
	}
	if _, err := os.Stat("lake"); err == nil {
		t.Error("CheckWrite created the destination's directory")
	}
}

// TestSingleFilePathWritesTheFileForTheStream: a path naming one .parquet
// file takes a flow that names no target (the target is then the
// stream's name): the write goes to that file.
func TestSingleFilePathWritesTheFileForTheStream(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "orders.csv")
	if err := os.WriteFile(csvPath, []byte(ordersCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "out", "x.parquet")
	want := copyStream(t, csvc(t, map[string]any{"path": csvPath}), pq(t, map[string]any{"path": path}),
		sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "orders", DefaultTarget: true, Mode: sdk.ModeReplace})
	if got := visible(t, filepath.Dir(path)); strings.Join(got, ",") != "x.parquet" {
		t.Fatalf("files written: %v; want x.parquet", got)
	}
	if got := total(readAll(t, pq(t, map[string]any{"path": path}), sdk.ReadRequest{Stream: "x"})); got != want || got.Rows == 0 {
		t.Fatalf("x.parquet holds %s, want %s", got, want)
	}
}
