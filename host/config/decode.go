package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// maxValues caps how many values one conversion visits, so that a file
// nesting aliases (a "billion laughs" file) fails fast instead of
// expanding into billions of values. No real pipeline comes close.
const maxValues = 100_000

// decoder collects the problems of one file.
type decoder struct {
	file   string
	env    func(string) (string, bool)
	errs   ErrorList
	budget int
	// active holds the collections being converted, to catch an alias
	// that refers to its own ancestor.
	active map[*yaml.Node]bool
}

func newDecoder(file string, env func(string) (string, bool)) *decoder {
	return &decoder{file: file, env: env, budget: maxValues, active: map[*yaml.Node]bool{}}
}

func (d *decoder) pos(n *yaml.Node) Position {
	return Position{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// entry is one key and value of a mapping.
type entry struct{ key, value *yaml.Node }

// problem is something wrong with a mapping's keys.
type problem struct {
	n   *yaml.Node
	msg string
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// mappingEntries lists the keys of mapping n in file order, with merge
// keys (<<) expanded: explicit keys win over merged ones, and an earlier
// merged mapping wins over a later one. It also returns the problems:
// duplicate keys, keys that are not scalars, merges of non-mappings.
func mappingEntries(n *yaml.Node) ([]entry, []problem) {
	var probs []problem
	explicit := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			probs = append(probs, problem{n.Content[i], "keys must be strings, not " + KindName(k)})
			continue
		}
		if isMerge(k) {
			continue
		}
		if first, ok := explicit[k.Value]; ok {
			probs = append(probs, problem{n.Content[i], fmt.Sprintf("duplicate key %q (first at line %d)", k.Value, first.Line)})
			continue
		}
		explicit[k.Value] = n.Content[i]
	}
	var out []entry
	seen := map[string]bool{}
	visited := map[*yaml.Node]bool{n: true}
	var merge func(v *yaml.Node, at *yaml.Node)
	merge = func(v *yaml.Node, at *yaml.Node) {
		v = resolve(v)
		switch {
		case v != nil && v.Kind == yaml.MappingNode:
			if visited[v] {
				return
			}
			visited[v] = true
			for i := 0; i+1 < len(v.Content); i += 2 {
				k := resolve(v.Content[i])
				if k == nil || k.Kind != yaml.ScalarNode {
					continue
				}
				if isMerge(k) {
					merge(v.Content[i+1], v.Content[i])
					continue
				}
				if explicit[k.Value] != nil || seen[k.Value] {
					continue
				}
				seen[k.Value] = true
				out = append(out, entry{k, v.Content[i+1]})
			}
		case v != nil && v.Kind == yaml.SequenceNode && !visited[v]:
			visited[v] = true
			for _, item := range v.Content {
				if it := resolve(item); it == nil || it.Kind != yaml.MappingNode {
					probs = append(probs, problem{item, "<< merges a mapping or a list of mappings, not " + KindName(it)})
					continue
				}
				merge(item, at)
			}
		case v != nil && v.Kind == yaml.SequenceNode:
		default:
			probs = append(probs, problem{at, "<< merges a mapping or a list of mappings, not " + KindName(v)})
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			continue
		}
		if isMerge(k) {
			merge(n.Content[i+1], n.Content[i])
			continue
		}
		if explicit[k.Value] != n.Content[i] || seen[k.Value] {
			continue // a duplicate
		}
		seen[k.Value] = true
		out = append(out, entry{k, n.Content[i+1]})
	}
	return out, probs
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// entries is mappingEntries that reports the problems under path.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	out, probs := mappingEntries(n)
	for _, p := range probs {
		d.add(p.n, path, "%s", p.msg)
	}
	return out
}

// KindName names what a YAML node holds, for error messages ("a mapping",
// "a list", "a number", "null", ...), following aliases. The resilience
// decoder words its type errors with it too.
func KindName(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		case "!!str":
			return "a string"
		}
		return "a " + strings.TrimPrefix(n.ShortTag(), "!!") + " value"
	}
	return "nothing"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func quoted(style yaml.Style) bool {
	return style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
}

// value converts n to a JSON-ready Go value: map[string]any, []any,
// string, int, float64, bool or nil (or, for explicitly tagged values,
// whatever yaml.v3 gives). path is the error path; field is the dotted
// field path inside a connector's config, recorded in refs when the value
// refers to environment variables; secret means the value sits under a
// secret-looking key.
func (d *decoder) value(n *yaml.Node, path, field string, secret bool, refs map[string][]string) any {
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.add(n, path, "the file expands to more than %d values; are aliases nested too deeply?", maxValues)
		}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		t := resolve(n)
		if t == nil || d.active[t] {
			d.add(n, path, "alias *%s refers to a value that contains it", n.Value)
			return nil
		}
		n = t
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.active[n] = true
		defer delete(d.active, n)
		m := map[string]any{}
		for _, e := range d.entries(n, path) {
			k := e.key.Value
			m[k] = d.value(e.value, joinPath(path, k), joinPath(field, k), secret || IsSecretKey(k), refs)
		}
		return m
	case yaml.SequenceNode:
		d.active[n] = true
		defer delete(d.active, n)
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			s[i] = d.value(item, path+"["+strconv.Itoa(i)+"]", joinPath(field, strconv.Itoa(i)), secret, refs)
		}
		return s
	case yaml.ScalarNode:
		v, vars := d.scalar(n, path, secret)
		if len(vars) > 0 && refs != nil {
			refs[field] = vars
		}
		return v
	}
	return nil
}

// scalar converts a scalar node, expanding environment variables in
// strings. It returns the variables the value refers to.
func (d *decoder) scalar(n *yaml.Node, path string, secret bool) (any, []string) {
	if n.ShortTag() == "!!str" && strings.ContainsRune(n.Value, 0) {
		d.add(n, path, "%s", nulMessage)
		return nil, nil
	}
	if n.ShortTag() == "!!str" && strings.Contains(n.Value, "$") {
		s, vars, err := expand(n.Value, d.env)
		if err != nil {
			d.add(n, path, "%v", err)
			return nil, vars
		}
		if len(vars) == 0 || secret || quoted(n.Style) || n.Style&yaml.TaggedStyle != 0 {
			return s, vars
		}
		// A plain ${VAR} is typed as if its value had been written here.
		var v any
		t := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
		if t.ShortTag() == "!!timestamp" || t.Decode(&v) != nil {
			return s, vars
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return s, vars
		}
		return v, vars
	}
	if n.ShortTag() == "!!timestamp" {
		return n.Value, nil // as written, not reformatted as RFC 3339
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.add(n, path, "is not a valid %s value", n.ShortTag())
		return nil, nil
	}
	if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
		d.add(n, path, "is not a finite number; connector settings travel as JSON, which cannot hold it")
		return nil, nil
	}
	return v, nil
}

// str reads a scalar as text, expanding environment variables. ok is false
// when n is null (absent) or not a scalar (reported).
func (d *decoder) str(n *yaml.Node, path string) (s string, ok bool) {
	n = resolve(n)
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.add(n, path, "must be a string, not %s", KindName(n))
		return "", false
	}
	if n.ShortTag() != "!!str" {
		return n.Value, true
	}
	s, _, err := expand(n.Value, d.env)
	if err != nil {
		d.add(n, path, "%v", err)
		return "", false
	}
	if strings.ContainsRune(s, 0) {
		d.add(n, path, "%s", nulMessage)
		return "", false
	}
	return s, true
}

// nulMessage refuses a string holding a NUL byte (a "\0" escape, or one
// from an environment variable): no file name, URL, table or header can
// hold one, and some system calls would cut the string there.
const nulMessage = "holds a NUL byte, which no path, name, URL or identifier can hold; remove it"

// path reads a file system path: a non-empty string without NUL bytes.
func (d *decoder) path(n *yaml.Node, key string) (string, bool) {
	s, ok := d.str(n, key)
	switch {
	case !ok:
		if isNull(n) {
			d.add(n, key, "must not be empty; leave it out to use the default")
		}
		return "", false
	case s == "":
		d.add(n, key, "must not be empty; leave it out to use the default")
		return "", false
	case strings.ContainsRune(s, 0):
		d.add(n, key, "holds a NUL byte, which no file name can")
		return "", false
	}
	return s, true
}

// show renders a scalar for a message: quoted when it is a string.
func show(n *yaml.Node, s string) string {
	if n = resolve(n); n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return configkey.Quote(s)
	}
	if len(s) > configkey.MaxQuoted {
		return configkey.Quote(s)
	}
	return s
}
