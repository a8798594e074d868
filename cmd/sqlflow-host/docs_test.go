package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/config"
)

// docBlock is one fenced YAML block of a Markdown file.
type docBlock struct {
	file string
	line int
	text string
	skip bool
}

// docBlocks returns the ```yaml blocks of README.md and every docs/**/*.md.
// A block right after a line "<!-- docs-test: skip -->" is marked skip (for
// examples that show a mistake on purpose).
func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	var out []docBlock
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		var cur *docBlock
		skipNext := false
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			trimmed := strings.TrimSpace(line)
			switch {
			case cur == nil && strings.HasPrefix(trimmed, "<!-- docs-test: skip"):
				skipNext = true
			case cur == nil && (trimmed == "```yaml" || trimmed == "```yml"):
				rel, _ := filepath.Rel(repoRoot, f)
				cur = &docBlock{file: rel, line: n + 1, skip: skipNext}
				skipNext = false
			case cur != nil && trimmed == "```":
				out = append(out, *cur)
				cur = nil
			case cur != nil:
				cur.text += line + "\n"
			case trimmed != "":
				skipNext = skipNext && strings.HasPrefix(trimmed, "<!--")
			}
		}
		fh.Close()
	}
	return out
}

var (
	pipelineRe = regexp.MustCompile(`(?m)^version:`)
	flowsRe    = regexp.MustCompile(`(?m)^flows:`)
	varRe      = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// TestDocExamples validates every pipeline example in README.md and docs/
// with `sqlflow-host validate`, and runs the self-contained ones (only
// memory sources or files shipped under examples/, no environment
// variables), so a documented example cannot rot. The examples of one
// Markdown file run in order in one directory, as a reader following the
// page would run them.
func TestDocExamples(t *testing.T) {
	blocks := docBlocks(t)
	dirs := map[string]string{}
	seen := 0
	for _, b := range blocks {
		if b.skip || !pipelineRe.MatchString(b.text) || !flowsRe.MatchString(b.text) {
			continue
		}
		seen++
		name := strings.ReplaceAll(b.file, "/", "_") + "_line" + itoa(b.line)
		t.Run(name, func(t *testing.T) {
			for _, typ := range connectorTypes(b.text) {
				if typ == "google_sheets" {
					typ = "gsheets"
				}
				if _, err := os.Stat(filepath.Join(pluginsDir, "sqlflow-plugin-"+typ)); err != nil {
					t.Skipf("%s:%d uses connector type %q, which has no plugin yet", b.file, b.line, typ)
				}
			}
			for _, m := range varRe.FindAllStringSubmatch(b.text, -1) {
				if _, ok := os.LookupEnv(m[1]); !ok {
					t.Setenv(m[1], placeholder(m[1]))
				}
			}
			dir, ok := dirs[b.file]
			if !ok {
				var err error
				if dir, err = os.MkdirTemp("", "sqlflow-docs-"); err != nil {
					t.Fatal(err)
				}
				dirs[b.file] = dir
				os.Symlink(filepath.Join(repoRoot, "examples"), filepath.Join(dir, "examples"))
			}
			t.Chdir(dir)
			p := write(t, dir, "pipeline-line"+itoa(b.line)+".yaml", b.text)
			if r := cli(t, "validate", p); r.code != 0 {
				t.Fatalf("%s:%d: the documented pipeline does not validate:\n%s\n%s", b.file, b.line, b.text, r)
			}
			if !selfContained(b.text) {
				return
			}
			if r := cli(t, "run", p); r.code != 0 {
				t.Fatalf("%s:%d: the documented pipeline does not run:\n%s\n%s", b.file, b.line, b.text, r)
			}
		})
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	if seen == 0 {
		t.Fatal("found no pipeline example in README.md or docs/")
	}
}

// selfContained reports whether a pipeline needs nothing but this
// repository: no environment variables, only memory, csv or parquet
// connectors, and every source path under examples/.
func selfContained(text string) bool {
	if strings.Contains(text, "${") {
		return false
	}
	for _, typ := range connectorTypes(text) {
		switch typ {
		case "memory", "csv", "parquet":
		default:
			return false
		}
	}
	// Absolute paths point outside the test's directory.
	return !regexp.MustCompile(`path:\s*/`).MatchString(text)
}

func itoa(n int) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}

// placeholder is a stand-in value for an environment variable a documented
// example uses: shaped like what its name says (a DSN, a URL) so the
// connector's own validation accepts it.
func placeholder(name string) string {
	switch n := strings.ToUpper(name); {
	case strings.Contains(n, "DSN") || strings.Contains(n, "DATABASE_URL"):
		return "postgres://user@127.0.0.1:5432/db?sslmode=disable"
	case strings.Contains(n, "URL") || strings.Contains(n, "ENDPOINT"):
		return "http://127.0.0.1:9/"
	case strings.Contains(n, "PORT"):
		return "5432"
	}
	return "placeholder-" + strings.ToLower(name)
}

// connectorTypes returns the connector types a pipeline example uses (the
// type: of each source and destination, not of nested blocks such as
// auth: or pagination:). A file that does not parse gives none: validate
// then reports why.
func connectorTypes(text string) []string {
	p, err := config.Parse("example.yaml", []byte(text), func(name string) (string, bool) { return placeholder(name), true })
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range p.Sources {
		out = append(out, c.Type)
	}
	for _, c := range p.Destinations {
		out = append(out, c.Type)
	}
	return out
}
