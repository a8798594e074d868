package state_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/state"
)

func TestSaveLoad(t *testing.T) {
	s := state.Store{Dir: t.TempDir()}
	if f, err := s.Load("pipes/p.yaml", "f"); f != nil || err != nil {
		t.Fatalf("empty store: %v %v", f, err)
	}
	if err := s.Save("pipes/p.yaml", "f", state.Flow{CursorField: "id", Cursor: json.RawMessage(`42`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("pipes/p.yaml", "f", state.Flow{CursorField: "id", Cursor: json.RawMessage(`43`)}); err != nil {
		t.Fatal(err)
	}
	f, err := s.Load("other/p.yml", "f")
	if err != nil || f == nil || string(f.Cursor) != "43" || f.CursorField != "id" {
		t.Fatalf("got %+v %v", f, err)
	}
	if got := s.Path("p.yaml", "a/b"); !strings.HasSuffix(got, filepath.Join("p", "a_b.json")) {
		t.Fatalf("path %s", got)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir, "p"))
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
}

func TestCorrupt(t *testing.T) {
	s := state.Store{Dir: t.TempDir()}
	p := s.Path("p.yaml", "f")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("{not json"), 0o644)
	if _, err := s.Load("p.yaml", "f"); err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), p) {
		t.Fatalf("got %v", err)
	}
}
