package state_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/state"
)

func owner() state.Owner {
	return state.Owner{
		Pipeline: "p", Flow: "f", CursorField: "id",
		Source:      state.Endpoint{Type: "csv", Stream: "orders", Location: map[string]string{"path": "data/orders.csv"}},
		Destination: state.Endpoint{Type: "postgres", Target: "orders", Location: map[string]string{"host": "db", "database": state.Fingerprint("shop")}},
	}
}

func TestSaveLoad(t *testing.T) {
	s := state.Store{Dir: t.TempDir()}
	if f, err := s.Load("p", "f"); f != nil || err != nil {
		t.Fatalf("empty store: %v %v", f, err)
	}
	for _, c := range []string{"42", "43"} {
		if err := s.Save("p", "f", state.Flow{Owner: owner(), Cursor: json.RawMessage(c), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := s.Load("p", "f")
	if err != nil || f == nil || string(f.Cursor) != "43" || f.Owner.CursorField != "id" || f.Version != state.FormatVersion {
		t.Fatalf("got %+v %v", f, err)
	}
	if d := f.Owner.Diff(owner()); len(d) != 0 {
		t.Fatalf("owner changed on the way: %v", d)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir, "p"))
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
	flows, err := s.Flows("p")
	if err != nil || len(flows) != 1 || flows[0] != "f" {
		t.Fatalf("Flows: %v %v", flows, err)
	}
	if ok, err := s.Delete("p", "f"); !ok || err != nil {
		t.Fatalf("Delete: %v %v", ok, err)
	}
	if ok, err := s.Delete("p", "f"); ok || err != nil {
		t.Fatalf("second Delete: %v %v", ok, err)
	}
}

// Names from user input never lead out of the state directory.
func TestPathStaysInside(t *testing.T) {
	s := state.Store{Dir: "/st"}
	for _, c := range [][2]string{{"..", "f"}, {"p", "../../etc/passwd"}, {"", ""}, {"a/b", "c\x00d"}} {
		p := s.Path(c[0], c[1])
		rel, err := filepath.Rel("/st", p)
		if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 1 {
			t.Errorf("Path(%q, %q) = %s: outside the directory or nested", c[0], c[1], p)
		}
	}
}

func TestBadFiles(t *testing.T) {
	s := state.Store{Dir: t.TempDir()}
	good, _ := state.Encode(state.Flow{Owner: owner(), Cursor: json.RawMessage(`42`)})
	cases := []struct {
		name, data, want string
	}{
		{"not JSON", "hello", "not valid JSON"},
		{"truncated", string(good[:len(good)/2]), "truncated"},
		{"empty", "", "empty"},
		{"newer", `{"version": 99, "owner": {"cursor_field": "id"}, "cursor": 1}`, "newer sqlflow-host"},
		{"no owner", `{"version": 2, "cursor": 1}`, "no cursor_field"},
		{"not a state", `{"a": 1}`, "not a state file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := s.Path("p", "f")
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load("p", "f")
			var se *state.Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v; want a *state.Error naming %s and saying %q", err, p, tc.want)
			}
		})
	}
}

// A file of the first format (no version, no owner) is read with only its
// cursor column known.
func TestLegacy(t *testing.T) {
	f, err := state.Decode([]byte(`{"cursor_field": "id", "cursor": 7, "updated_at": "2026-01-01T00:00:00Z"}`), "file x")
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 0 || f.Owner.CursorField != "id" || string(f.Cursor) != "7" {
		t.Fatalf("got %+v", f)
	}
}

func TestOwnerDiff(t *testing.T) {
	a := owner()
	b := owner()
	b.Source.Location = map[string]string{"path": "data/other.csv"}
	b.Destination.Target = "orders2"
	b.Destination.Location["database"] = state.Fingerprint("shop2")
	b.CursorField = "updated_at"
	d := strings.Join(a.Diff(b), "\n")
	for _, want := range []string{
		`cursor column: was "id", now "updated_at"`,
		`source path: was "data/orders.csv", now "data/other.csv"`,
		`destination target: was "orders", now "orders2"`,
		`destination database: changed (the value comes from the environment)`,
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "shop") {
		t.Errorf("diff shows a value from the environment:\n%s", d)
	}
	c := owner()
	delete(c.Source.Location, "path")
	if d := a.Diff(c); len(d) != 1 || !strings.Contains(d[0], "now not set") {
		t.Errorf("removed key: %v", d)
	}
}
