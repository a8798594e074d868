// Package scaffold writes a new connector plugin: a Go module of its own
// with main.go, a connector that passes the SDK's conformance kit, the
// test that runs the kit on it, and a README (`sqlflow-host plugins new`).
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// SDKModule is the module path of the plugin SDK.
const SDKModule = "github.com/sqlflow/sqlflow-host/sdk"

// SDKVersion is the SDK version a new module requires (sdk/CHANGELOG.md).
const SDKVersion = "v1.0.0"

//go:embed templates/*.tmpl
var templates embed.FS

// Options says what to write.
type Options struct {
	// Name is the connector type, as pipelines name it: a lower-case
	// letter, then lower-case letters, digits, '_' or '-' (64 at most).
	Name string
	// Dir is the directory to create; it must not exist or be empty.
	Dir string
	// Module is the new module's path; empty means
	// example.com/sqlflow-plugin-<Name>.
	Module string
	// Source and Destination are the roles; neither means Source.
	Source, Destination bool
	// SDKDir, when not empty, is a local copy of the SDK module (the sdk
	// directory of a sqlflow-host checkout) that go.mod's replace points
	// at; empty requires the released SDKVersion.
	SDKDir string
}

// typeRe is the connector type syntax of pipeline files.
var typeRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// files maps each template to the file it writes.
var files = []struct{ tmpl, out string }{
	{"go.mod.tmpl", "go.mod"},
	{"main.go.tmpl", "main.go"},
	{"connector.go.tmpl", "connector.go"},
	{"conformance_test.go.tmpl", "conformance_test.go"},
	{"README.md.tmpl", "README.md"},
	{"gitignore.tmpl", ".gitignore"},
}

// Write creates o.Dir and writes the module into it. It returns the paths
// it wrote. Nothing is written when an option is invalid or o.Dir holds
// files.
func Write(o Options) ([]string, error) {
	if !typeRe.MatchString(o.Name) {
		return nil, fmt.Errorf("plugin name %q: use a lower-case letter followed by lower-case letters, digits, '_' or '-' (at most 64), as a pipeline's type: names it", o.Name)
	}
	if !o.Source && !o.Destination {
		o.Source = true
	}
	if o.Module == "" {
		o.Module = "example.com/sqlflow-plugin-" + o.Name
	}
	if strings.ContainsAny(o.Module, " \t\n\"'`\\") || strings.HasPrefix(o.Module, "/") {
		return nil, fmt.Errorf("--module %q is not a Go module path (e.g. github.com/you/sqlflow-plugin-%s)", o.Module, o.Name)
	}
	if o.SDKDir != "" {
		abs, err := filepath.Abs(o.SDKDir)
		if err != nil {
			return nil, err
		}
		if !IsSDK(abs) {
			return nil, fmt.Errorf("--sdk %s: no go.mod of module %s there (give the sdk directory of a sqlflow-host checkout)", o.SDKDir, SDKModule)
		}
		o.SDKDir = abs
	}
	if entries, err := os.ReadDir(o.Dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s already holds files: give a new or empty directory", o.Dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	data := struct {
		Options
		SDKVersion string
	}{o, SDKVersion}
	out := map[string][]byte{}
	for _, f := range files {
		t, err := template.ParseFS(templates, "templates/"+f.tmpl)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return nil, fmt.Errorf("scaffold %s: %w", f.out, err)
		}
		b := buf.Bytes()
		if strings.HasSuffix(f.out, ".go") {
			if b, err = format.Source(b); err != nil {
				return nil, fmt.Errorf("scaffold %s: %w", f.out, err)
			}
		}
		out[f.out] = b
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	var wrote []string
	for _, f := range files {
		p := filepath.Join(o.Dir, f.out)
		if err := os.WriteFile(p, out[f.out], 0o644); err != nil {
			return wrote, err
		}
		wrote = append(wrote, p)
	}
	return wrote, nil
}

// IsSDK reports whether dir holds the SDK module's go.mod.
func IsSDK(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(first) == "module "+SDKModule
}

// FindSDK looks for a sqlflow-host checkout's sdk directory in dir and its
// parents and returns it, or "" when there is none.
func FindSDK(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if IsSDK(dir) {
			return dir
		}
		if c := filepath.Join(dir, "sdk"); IsSDK(c) {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
