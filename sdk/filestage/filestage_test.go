package filestage_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

func TestStreamName(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ path, want string }{
		{"data/orders.csv", "orders"},
		{"orders", "orders"},
		{"data/orders-*.csv", "orders"},
		{"data/orders_2024*.csv", "orders_2024"},
		{"data/*.csv", "data"},
		{"data/*/x.csv", "x"},
		{"*.csv", "files"},
		{dir, filepath.Base(dir)},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := filestage.StreamName(tt.path); got != tt.want {
				t.Fatalf("StreamName(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestResolveTarget(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.csv")
	tests := []struct {
		name, path, target string
		isDefault          bool
		wantDir, wantFile  string
		wantErr            string
	}{
		{"name without extension", dir, "out", false, dir, "out.csv", ""},
		{"name with extension", dir, "out.csv", false, dir, "out.csv", ""},
		{"other extension kept", dir, "out.txt", false, dir, "out.txt.csv", ""},
		{"no target", dir, "", false, "", "", "has no target"},
		{"subdirectory", dir, "a/b", false, "", "", "plain file name"},
		{"dot file", dir, ".hidden", false, "", "", "plain file name"},
		{"stream name as default target", dir, "orders", true, dir, "orders.csv", ""},
		{"stream name that is no file name", dir, ".orders", true, "", "", "the flow names no target, and the stream's name"},
		{"single file, empty target", one, "", false, dir, "one.csv", ""},
		{"single file, stem target", one, "one", false, dir, "one.csv", ""},
		{"single file, other target", one, "two", false, "", "", "single file"},
		{"single file, stream name as default target", one, "orders", true, dir, "one.csv", ""},
		{"single file, stream name with a slash as default target", one, "public/orders", true, dir, "one.csv", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f, err := filestage.ResolveTarget(tt.path, tt.target, tt.isDefault, ".csv")
			if tt.wantErr != "" {
				if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want PERMANENT ...%s...", err, tt.wantErr)
				}
				return
			}
			if err != nil || d != tt.wantDir || f != tt.wantFile {
				t.Fatalf("= %q, %q, %v; want %q, %q", d, f, err, tt.wantDir, tt.wantFile)
			}
		})
	}
}

func TestExpandSorted(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.csv", "a.csv", "c.txt", ".sqlflow-staging-x.csv"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "*.csv"), "a.csv b.csv"},
		{dir, "a.csv b.csv"},
		{filepath.Join(dir, "c.txt"), "c.txt"},
	}
	for _, tt := range tests {
		files, err := filestage.Expand(tt.path, ".csv")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, filepath.Base(f))
		}
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("Expand(%q) = %s, want %s", tt.path, got, tt.want)
		}
	}
	if _, err := filestage.Expand(filepath.Join(dir, "missing.csv"), ".csv"); errclass.Of(err) != errclass.Permanent {
		t.Errorf("missing file: %v", err)
	}
}

func TestStagedWriteLifecycle(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.dat"), []byte("old"), 0o644)
	m := filestage.Manifest{Flow: "f", WriteID: "w/1", Target: "t.dat", Mode: "replace"}
	a, err := filestage.Begin(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int64{2, 1, 2} {
		wrote, err := a.WritePart(seq, func(w io.Writer) error { _, err := fmt.Fprintf(w, "[%d]", seq); return err })
		if err != nil {
			t.Fatal(err)
		}
		_ = wrote
	}
	parts, _ := a.Parts()
	if len(parts) != 2 || parts[0].Seq != 1 {
		t.Fatalf("parts = %+v", parts)
	}
	build := func(w io.Writer) (filestage.Plan, error) {
		for _, p := range parts {
			data, _ := os.ReadFile(p.Path)
			w.Write(data)
		}
		return filestage.Plan{Final: "t.dat"}, nil
	}
	// A failing build leaves the target alone and can be retried.
	if err := a.Commit(func(io.Writer) (filestage.Plan, error) { return filestage.Plan{}, errclass.Transientf("disk hiccup") }); err == nil {
		t.Fatal("failing build committed")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "t.dat")); string(data) != "old" {
		t.Fatalf("target after failed commit = %q", data)
	}
	if err := a.Commit(build); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "t.dat")); string(data) != "[1][2]" {
		t.Fatalf("target = %q", data)
	}
	// Another process finds the committed write and commits again: a no-op.
	again, err := filestage.Find(dir, "w/1")
	if err != nil || again == nil || again.Manifest.State != filestage.StateCommitted {
		t.Fatalf("Find = %+v, %v", again, err)
	}
	if err := again.Commit(func(io.Writer) (filestage.Plan, error) { t.Fatal("build called again"); return filestage.Plan{}, nil }); err != nil {
		t.Fatal(err)
	}
	// The next write of the flow removes the old staging.
	if _, err := filestage.Begin(dir, filestage.Manifest{Flow: "f", WriteID: "w2", Target: "t.dat"}); err != nil {
		t.Fatal(err)
	}
	if old, _ := filestage.Find(dir, "w/1"); old != nil {
		t.Fatal("committed staging of the flow survived the next Begin")
	}
}

// Staging a killed process left half-created (no manifest yet, still named
// .tmp) is removed by the next Begin of the same flow, and only of it.
func TestBeginRemovesHalfCreatedStagingOfTheFlow(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, filestage.StagingPrefix+"f-old.tmp")
	other := filepath.Join(dir, filestage.StagingPrefix+"g-old.tmp")
	for _, d := range []string{mine, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := filestage.Begin(dir, filestage.Manifest{Flow: "f", WriteID: "new", Target: "t.dat"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); err == nil {
		t.Fatal("half-created staging of the flow was left")
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("another flow's staging was removed")
	}
}

// ExpandSource gives an empty list where Expand fails for naming no file
// yet, and fails like Expand for a path that does not exist.
func TestExpandSource(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	os.WriteFile(filepath.Join(empty, "notes.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "a.csv"), nil, 0o644)
	tests := []struct {
		name, path string
		want       string // base names, space-separated
		wantErr    string // PERMANENT error text; "" for no error
	}{
		{"glob with matches", filepath.Join(dir, "*.csv"), "a.csv", ""},
		{"glob matching nothing", filepath.Join(dir, "orders-*.csv"), "", ""},
		{"glob in a directory without matches", filepath.Join(empty, "*.csv"), "", ""},
		{"glob under a glob directory", filepath.Join(dir, "2024-*", "*.csv"), "", ""},
		{"directory without matching files", empty, "", ""},
		{"glob in a missing directory", filepath.Join(dir, "missing", "*.csv"), "", `directory "` + filepath.Join(dir, "missing") + `" does not exist`},
		{"missing file", filepath.Join(dir, "missing.csv"), "", "does not exist"},
		{"missing directory", filepath.Join(dir, "missing"), "", "does not exist"},
		{"malformed glob", filepath.Join(dir, "[.csv"), "", "not a valid glob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := filestage.ExpandSource(tt.path, ".csv")
			if tt.wantErr != "" {
				if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ExpandSource(%q) = %v, %v; want PERMANENT ...%s...", tt.path, files, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExpandSource(%q): %v", tt.path, err)
			}
			var names []string
			for _, f := range files {
				names = append(names, filepath.Base(f))
			}
			if got := strings.Join(names, " "); got != tt.want {
				t.Fatalf("ExpandSource(%q) = %q, want %q", tt.path, got, tt.want)
			}
			if tt.want == "" {
				if _, err := filestage.Expand(tt.path, ".csv"); errclass.Of(err) != errclass.Permanent {
					t.Fatalf("Expand(%q) = %v; want a PERMANENT error (it names no file)", tt.path, err)
				}
			}
		})
	}
}

// CommitUnchanged commits a write without touching the directory, is
// idempotent in a new process, and refuses a write that staged batches.
func TestCommitUnchanged(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.dat"), []byte("old"), 0o644)
	a, err := filestage.Begin(dir, filestage.Manifest{Flow: "f", WriteID: "w1", Target: "t.dat", Mode: "append"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CommitUnchanged(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "t.dat")); string(data) != "old" {
		t.Fatalf("target = %q after CommitUnchanged", data)
	}
	again, err := filestage.Find(dir, "w1")
	if err != nil || again == nil || again.Manifest.State != filestage.StateCommitted {
		t.Fatalf("Find = %+v, %v", again, err)
	}
	if err := again.CommitUnchanged(); err != nil {
		t.Fatalf("repeated CommitUnchanged: %v", err)
	}

	b, err := filestage.Begin(dir, filestage.Manifest{Flow: "g", WriteID: "w2", Target: "t.dat", Mode: "append"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.WritePart(1, func(w io.Writer) error { _, err := io.WriteString(w, "rows"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitUnchanged(); errclass.Of(err) != errclass.Permanent {
		t.Fatalf("CommitUnchanged with a staged batch: %v; want PERMANENT", err)
	}
}

// CommitFile commits a file built inside the staging directory: it refuses
// a file outside it, moves the file over the target with the plan's
// removals, drops the parts, and a repeat in another process is a no-op.
func TestCommitFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.dat"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir, "t.extra"), []byte("x"), 0o644)
	a, err := filestage.Begin(dir, filestage.Manifest{Flow: "f", WriteID: "w1", Target: "t.dat", Mode: "replace"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WritePart(1, func(w io.Writer) error { _, err := w.Write([]byte("p1")); return err }); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(dir, "built.dat")
	os.WriteFile(outside, []byte("new"), 0o644)
	err = a.CommitFile(outside, filestage.Plan{Final: "t.dat"})
	if err == nil || !strings.Contains(err.Error(), "not inside the staging directory") || !errclass.Is(err, errclass.Permanent) {
		t.Fatalf("CommitFile of a file outside the staging = %v; want a PERMANENT error", err)
	}
	built := filepath.Join(a.Path, "built.dat")
	os.WriteFile(built, []byte("new"), 0o644)
	if err := a.CommitFile(built, filestage.Plan{Final: "a/b"}); err == nil || !strings.Contains(err.Error(), "invalid final name") {
		t.Fatalf("CommitFile with final name a/b = %v; want an invalid-name error", err)
	}
	// The failed plan left the file moved to the commit file and the write
	// staged: the caller builds the file again and commits.
	if data, _ := os.ReadFile(filepath.Join(dir, "t.dat")); string(data) != "old" {
		t.Fatalf("target after a refused plan = %q", data)
	}
	os.WriteFile(built, []byte("new"), 0o644)
	if err := a.CommitFile(built, filestage.Plan{Final: "t.dat", Remove: []string{"t.extra"}, Rows: 3}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "t.dat")); string(data) != "new" {
		t.Fatalf("target = %q, want new", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "t.extra")); !os.IsNotExist(err) {
		t.Fatalf("t.extra survived the commit: %v", err)
	}
	if parts, _ := a.Parts(); len(parts) != 0 {
		t.Fatalf("parts after commit: %v", parts)
	}
	again, err := filestage.Find(dir, "w1")
	if err != nil || again == nil || again.Manifest.State != filestage.StateCommitted || again.Manifest.Rows != 3 {
		t.Fatalf("Find = %+v, %v", again, err)
	}
	if err := again.CommitFile("", filestage.Plan{}); err != nil {
		t.Fatalf("repeated CommitFile: %v", err)
	}
}
