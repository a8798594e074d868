package csvconn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestCheckWriteAgreesWithBeginWrite: CheckWrite accepts exactly the
// writes BeginWrite accepts, and refuses the others with the same
// PERMANENT error.
func TestCheckWriteAgreesWithBeginWrite(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(out, "sub.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := writeFile(t, dir, "elsewhere.csv", "id,name\n1,a\n")
	if err := os.Symlink(elsewhere, filepath.Join(out, "linked.csv")); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single", "one.csv")
	if err := os.Mkdir(filepath.Dir(single), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		req        sdk.WriteRequest
		wantErr    string // empty: accepted
	}{
		{"replace", out, sdk.WriteRequest{Target: "orders", Mode: sdk.ModeReplace}, ""},
		{"append with extension", out, sdk.WriteRequest{Target: "orders.csv", Mode: sdk.ModeAppend}, ""},
		{"default target in a directory", out, sdk.WriteRequest{Target: "orders", DefaultTarget: true, Mode: sdk.ModeReplace}, ""},
		{"default target of a single-file path", single, sdk.WriteRequest{Target: "orders", DefaultTarget: true, Mode: sdk.ModeReplace}, ""},
		{"single-file path, its stem", single, sdk.WriteRequest{Target: "one", Mode: sdk.ModeAppend}, ""},
		{"single-file path, another target", single, sdk.WriteRequest{Target: "orders", Mode: sdk.ModeReplace}, "names a single file"},
		{"upsert", out, sdk.WriteRequest{Target: "orders", Mode: sdk.ModeUpsert, Key: []string{"id"}}, "does not support mode upsert"},
		{"unknown mode", out, sdk.WriteRequest{Target: "orders", Mode: "merge"}, `unknown write mode "merge"`},
		{"subdirectory", out, sdk.WriteRequest{Target: "a/orders", Mode: sdk.ModeReplace}, "plain file name"},
		{"dot file", out, sdk.WriteRequest{Target: ".orders", Mode: sdk.ModeReplace}, "plain file name"},
		{"symbolic link", out, sdk.WriteRequest{Target: "linked", Mode: sdk.ModeAppend}, "is a symbolic link"},
		{"directory", out, sdk.WriteRequest{Target: "sub", Mode: sdk.ModeReplace}, "is a directory"},
		{"NUL byte", out, sdk.WriteRequest{Target: "or\x00ders", Mode: sdk.ModeReplace}, "NUL byte"},
		{"directory under a file", filepath.Join(elsewhere, "out"), sdk.WriteRequest{Target: "orders", Mode: sdk.ModeReplace}, "not a directory"},
	}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, map[string]any{"path": tt.path})
			req := tt.req
			req.Flow = "f"
			resolved, cerr := c.CheckWrite(ctx, req)
			req.WriteID, req.Schema = "w"+string(rune('a'+i)), peopleSchema
			berr := c.BeginWrite(ctx, req)
			if berr == nil {
				defer c.AbortWrite(ctx, req.WriteID)
			}
			if tt.wantErr == "" {
				if cerr != nil || berr != nil {
					t.Fatalf("CheckWrite: %v; BeginWrite: %v; want both to accept", cerr, berr)
				}
				if !strings.HasPrefix(resolved, "file:/") {
					t.Fatalf("resolved %q, want file:/...", resolved)
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
	one := configured(t, map[string]any{"path": "out"})
	two := configured(t, map[string]any{"path": "out"})
	abs := configured(t, map[string]any{"path": filepath.Join(wd, "out")})
	single := configured(t, map[string]any{"path": "out/x.csv"})
	check := func(c sdk.Destination, target string, isDefault bool) string {
		t.Helper()
		r, err := c.(sdk.WriteChecker).CheckWrite(ctx, sdk.WriteRequest{Flow: "f", Target: target, DefaultTarget: isDefault, Mode: sdk.ModeReplace})
		if err != nil {
			t.Fatalf("CheckWrite(%q): %v", target, err)
		}
		return r
	}
	want := check(one, "x", false)
	for name, got := range map[string]string{
		"x.csv":                            check(one, "x.csv", false),
		"x in another destination":         check(two, "x", false),
		"x.csv in another destination":     check(two, "x.csv", false),
		"x under the absolute path":        check(abs, "x", false),
		"the stream x as default target":   check(one, "x", true),
		"path out/x.csv, stream y default": check(single, "y", true),
	} {
		if got != want {
			t.Errorf("%s resolves to %q; x resolves to %q", name, got, want)
		}
	}
	if got := check(one, "y", false); got == want {
		t.Errorf("y resolves to %q, as x does", got)
	}
	if _, err := os.Stat("out"); err == nil {
		t.Error("CheckWrite created the destination's directory")
	}
}

// TestSingleFilePathWritesTheFileForTheStream: a path naming one .csv
// file takes a flow that names no target (the target is then the stream's
// name): the write goes to that file.
func TestSingleFilePathWritesTheFileForTheStream(t *testing.T) {
	dir := t.TempDir()
	src := configured(t, map[string]any{"path": writeFile(t, dir, "orders.csv", ordersCSV)})
	path := filepath.Join(dir, "out", "x.csv")
	dst := configured(t, map[string]any{"path": path})
	want := copyStream(t, src, dst, "orders", sdk.WriteRequest{WriteID: "w1", Flow: "f", Target: "orders", DefaultTarget: true, Mode: sdk.ModeReplace})
	if got := visible(t, filepath.Dir(path)); strings.Join(got, ",") != "x.csv" {
		t.Fatalf("files written: %v; want x.csv", got)
	}
	back := configured(t, map[string]any{"path": path})
	if got := total(readAll(t, back, sdk.ReadRequest{Stream: "x"})); got != want || got.Rows == 0 {
		t.Fatalf("x.csv holds %s, want %s", got, want)
	}
}
