package equalfooting

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/sqlflow/sqlflow-host"

// genericHostKeys is host/engine.GenericHostKeys: keys that name a remote
// host in any connector, which the host may know.
var genericHostKeys = []string{"url", "base_url", "endpoint_url", "endpoint", "uri", "dsn", "host"}

// exempt lists host packages allowed to name a connector, each with why.
// Every entry is a known gap, not a design: keep it short.
var exempt = map[string]string{
	// The Shopify webhook receiver (sqlflow-host webhooks): it verifies
	// Shopify's HMAC headers and subscribes through the Admin API, so it is
	// Shopify's by nature; moving it behind a Spec capability is not done.
	module + "/host/webhooks": "Shopify webhook receiver",
}

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
}

// list returns the packages matching pattern, non-test files only.
func list(t *testing.T, pattern string) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", pattern).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", pattern, err, stderr)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// parse parses every non-test file of pkgs.
func parse(t *testing.T, fset *token.FileSet, pkgs []pkg) map[string]*ast.File {
	t.Helper()
	files := map[string]*ast.File{}
	for _, p := range pkgs {
		// Reading the directory here makes go test's cache notice a file
		// added to it (go list runs in another process, unseen).
		if _, err := os.ReadDir(p.Dir); err != nil {
			t.Fatal(err)
		}
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files[path] = f
		}
	}
	return files
}

// stringsOf returns the string literals of expression e (a literal, or a
// slice literal of them).
func stringsOf(e ast.Expr) []string {
	var out []string
	ast.Inspect(e, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// builtinNames returns the names the built-in plugins' Spec literals
// declare: type names, aliases, default hosts and host keys beyond the
// generic ones.
func builtinNames(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	names := map[string]string{}
	for path, f := range parse(t, fset, list(t, module+"/plugins/...")) {
		ast.Inspect(f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := cl.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Spec" {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "sdk" {
				return true
			}
			for _, el := range cl.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				if key == nil {
					continue
				}
				switch key.Name {
				case "Name", "Aliases", "DefaultHost":
					for _, s := range stringsOf(kv.Value) {
						names[s] = key.Name + " in " + path
					}
				case "HostKeys":
					for _, s := range stringsOf(kv.Value) {
						if !slices.Contains(genericHostKeys, s) {
							names[s] = "HostKeys in " + path
						}
					}
				}
			}
			return true
		})
	}
	return names
}

// TestNoConnectorNamesInHost: no string literal in the host's non-test
// code under host/ is a built-in connector's type name, alias, default
// host or type-specific host key; names containing "_" or "." (keys,
// host names) are not allowed inside a literal either.
func TestNoConnectorNamesInHost(t *testing.T) {
	names := builtinNames(t)
	for _, want := range []string{"csv", "postgres", "memory", "google_sheets", "shop_domain", "sheets.googleapis.com"} {
		if _, ok := names[want]; !ok {
			t.Fatalf("the built-in plugins' Specs did not give %q (found %v): the check below would miss it", want, names)
		}
	}
	pkgs := list(t, module+"/host/...")
	var checked []pkg
	for _, p := range pkgs {
		if _, ok := exempt[p.ImportPath]; !ok {
			checked = append(checked, p)
		}
	}
	if len(checked) < 5 {
		t.Fatalf("go list gave %d host packages", len(checked))
	}
	fset := token.NewFileSet()
	for _, f := range parse(t, fset, checked) {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for name, from := range names {
				if s == name || strings.ContainsAny(name, "_.") && containsWord(s, name) {
					t.Errorf("%s: %s names a connector (%s): the host must learn it from the connector's Spec",
						fset.Position(lit.Pos()), lit.Value, from)
				}
			}
			return true
		})
	}
}

// containsWord reports whether s holds word with no letter, digit or _
// right before or after it.
func containsWord(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		if (j == 0 || !wordByte(s[j-1])) && (end == len(s) || !wordByte(s[end])) {
			return true
		}
		i = j + 1
	}
}

func wordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
