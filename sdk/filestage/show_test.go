package filestage_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// chdirTemp makes a new temporary directory the working directory for the
// rest of the test and returns it as os.Getwd reports it.
func chdirTemp(t *testing.T) string {
	t.Helper()
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestShow(t *testing.T) {
	wd := chdirTemp(t)
	tests := []struct{ path, want string }{
		{"data/orders.csv", `"data/orders.csv" (resolved to ` + filepath.Join(wd, "data", "orders.csv") + `)`},
		{"./orders.csv", `"./orders.csv" (resolved to ` + filepath.Join(wd, "orders.csv") + `)`},
		{"../up/x.csv", `"../up/x.csv" (resolved to ` + filepath.Join(filepath.Dir(wd), "up", "x.csv") + `)`},
		{"data/*.csv", `"data/*.csv" (resolved to ` + filepath.Join(wd, "data", "*.csv") + `)`},
		{"/srv/data/orders.csv", `"/srv/data/orders.csv"`},
		{"/srv/../srv/x", `"/srv/../srv/x"`},
	}
	for _, tt := range tests {
		if got := filestage.Show(tt.path); got != tt.want {
			t.Errorf("Show(%q) = %s, want %s", tt.path, got, tt.want)
		}
	}
}

// TestMissingPathErrors: every error about a local path the connector
// could not find or use shows the path as written and as resolved against
// the working directory, and is PERMANENT; an absolute path is shown once.
func TestMissingPathErrors(t *testing.T) {
	wd := chdirTemp(t)
	if err := os.Mkdir("empty", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("plain", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(wd, "gone.csv")
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"missing file", func() error { _, err := filestage.Expand("data/orders.csv", ".csv"); return err },
			`file "data/orders.csv" (resolved to ` + wd + `/data/orders.csv) does not exist`},
		{"glob matching nothing", func() error { _, err := filestage.Expand("data/*.csv", ".csv"); return err },
			`path "data/*.csv" (resolved to ` + wd + `/data/*.csv) matches no file`},
		{"directory without files", func() error { _, err := filestage.Expand("empty", ".csv"); return err },
			`directory "empty" (resolved to ` + wd + `/empty) holds no .csv file`},
		{"absolute missing file", func() error { _, err := filestage.Expand(abs, ".csv"); return err },
			`file "` + abs + `" does not exist`},
		{"check: file in a missing directory", func() error { return filestage.CheckPath("nodir/orders.csv", ".csv") },
			`path "nodir/orders.csv" (resolved to ` + wd + `/nodir/orders.csv) does not exist`},
		{"begin: directory under a file", func() error {
			_, err := filestage.Begin("plain/out", filestage.Manifest{Flow: "f", WriteID: "w", Target: "t.csv"})
			return err
		}, `create directory "plain/out" (resolved to ` + wd + `/plain/out): not a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n  %v\nwant\n  %s", err, tt.want)
			}
			if errclass.Of(err) != errclass.Permanent {
				t.Errorf("class %v, want PERMANENT", errclass.Of(err))
			}
		})
	}
}

func TestFileError(t *testing.T) {
	wd := chdirTemp(t)
	_, openErr := os.Open("data/orders.csv")
	err := filestage.FileError(openErr, "open", "data/orders.csv")
	want := `open "data/orders.csv" (resolved to ` + wd + `/data/orders.csv): no such file or directory`
	if err.Error() != want {
		t.Errorf("FileError = %v, want %s", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) || errclass.Of(err) != errclass.Permanent {
		t.Errorf("FileError lost the cause or the class: %v %v", errors.Is(err, fs.ErrNotExist), errclass.Of(err))
	}
	if strings.Count(err.Error(), "data/orders.csv") != 2 {
		t.Errorf("the path should appear twice (as written and resolved): %v", err)
	}
	other := filestage.FileError(errors.New("disk on fire"), "read", "/abs/x")
	if other.Error() != `read "/abs/x": disk on fire` || errclass.Of(other) != errclass.Transient {
		t.Errorf("FileError of an unknown failure = %v (%v), want TRANSIENT", other, errclass.Of(other))
	}
}
