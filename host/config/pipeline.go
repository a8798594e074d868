package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sqlflow/sqlflow-host/host/cronexpr"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// Version is the only pipeline file version this package reads.
const Version = 1

// Pipeline is a decoded and validated pipeline file.
type Pipeline struct {
	// Path is the file's name as given to Load or Parse; positions use it.
	Path string
	// Dir is the file's directory (absolute after Load). Relative paths in
	// the file are relative to it: plugins_dir and state_dir here, and the
	// connectors' own path keys because every plugin process runs in it.
	Dir string
	// Name is the pipeline's name: the top-level name key, else the file's
	// stem with every character outside [A-Za-z0-9_-] replaced by '_'. It
	// keys the pipeline's state (see StateDir) and the staging and state
	// its flows keep in destinations, so it must not depend on where the
	// host runs from.
	Name string
	// NamePos is where name is set; zero when the name is the file's stem.
	NamePos Position
	// StateDir is state_dir joined to Dir when relative; empty when the
	// file does not set it (the host then uses <Dir>/.sqlflow/state, unless
	// --state-dir says otherwise).
	StateDir string
	// StateDirPos is where state_dir is set; zero when it is not.
	StateDirPos Position
	// Version is the file's version: always 1.
	Version int
	// PluginsDir is plugins_dir joined to Dir when relative; empty when
	// the file does not set it. The --plugins-dir flag and
	// $SQLFLOW_PLUGINS_DIR take precedence over it (the host decides).
	PluginsDir string
	// PluginsDirPos is where plugins_dir is set; zero when it is not.
	PluginsDirPos Position
	// Sources and Destinations are the connector instances by name.
	Sources, Destinations map[string]*Connector
	// SourceNames and DestinationNames are the instance names in file
	// order.
	SourceNames, DestinationNames []string
	// Flows are the flows in file order, with their defaults applied.
	Flows []*Flow
}

// Flow moves one stream of a source to one target of a destination.
type Flow struct {
	// Name is unique in the pipeline. Default "<from>_to_<to>", with
	// "_<target>" added when several flows would otherwise share it.
	Name string
	// From names a source; To names a destination.
	From, To string
	// Stream is the source's stream; empty means the source's only
	// stream, which the host finds out.
	Stream string
	// Target is the table, file or object set written; default Stream.
	// Empty when Stream is: the host then uses the stream's name.
	Target string
	// Mode is how the write is applied; default replace.
	Mode sdk.WriteMode
	// Key lists the key columns; set (and non-empty) for upsert only.
	Key []string
	// Incremental is nil for a full read.
	Incremental *Incremental
	// Schedule is the flow's cron schedule (see package cronexpr); empty
	// when the flow has none. Only `sqlflow-host schedule` uses it.
	Schedule string
	// Index is the flow's place in the flows: list, from 0.
	Index int
	// Pos is the position of the flow's mapping.
	Pos Position

	fields map[string]Position // value positions of the keys present
}

// Incremental asks for an incremental read on a cursor column.
type Incremental struct {
	// Cursor is the cursor column.
	Cursor string
	// Pos is the position of the incremental: mapping.
	Pos Position
}

// FieldPos returns the position of the value of the flow's key (e.g.
// "mode"), or f.Pos when the flow leaves the key out.
func (f *Flow) FieldPos(key string) Position {
	if p, ok := f.fields[key]; ok {
		return p
	}
	return f.Pos
}

// has reports whether the flow sets key.
func (f *Flow) has(key string) bool {
	_, ok := f.fields[key]
	return ok
}

func (f *Flow) path() string { return "flows[" + strconv.Itoa(f.Index) + "]" }

var (
	nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)
	typeRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
)

const nameRule = "a name starts with a letter or _ and holds only letters, digits, _ and - (at most 128 characters)"

var (
	topKeys  = []string{"version", "name", "plugins_dir", "state_dir", "sources", "destinations", "flows"}
	flowKeys = []string{"name", "from", "stream", "to", "target", "mode", "key", "incremental", "schedule"}
)

// Load reads and decodes the pipeline file at path, expanding environment
// variables from the process environment. Every problem found comes back
// at once, as an ErrorList. When the file could be read as a mapping, the
// pipeline is returned beside the errors too, holding what decoded
// cleanly (its connectors with a valid type, its flows), so that a caller
// such as validate can go on checking those and report everything at once;
// such a partial pipeline must not be run.
func Load(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := "cannot read the pipeline file"
		var pe *fs.PathError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg = "the pipeline file does not exist"
		case errors.As(err, &pe):
			msg += ": " + pe.Err.Error()
		default:
			msg += ": " + err.Error()
		}
		return nil, ErrorList{{Pos: Position{File: path}, Msg: msg, Err: err}}
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return parse(path, dir, data, os.LookupEnv)
}

// Parse decodes a pipeline file's contents. name is used in positions, for
// the default pipeline name and to resolve relative paths; env looks up
// environment variables (nil means none is set; os.LookupEnv reads the
// process environment). Every problem found comes back at once, as an
// ErrorList, with the partial pipeline as Load describes.
func Parse(name string, data []byte, env func(string) (string, bool)) (*Pipeline, error) {
	return parse(name, filepath.Dir(name), data, env)
}

func parse(name, dir string, data []byte, env func(string) (string, bool)) (*Pipeline, error) {
	d := newDecoder(name, env)
	root := d.document(data)
	if root == nil {
		return nil, d.errs.err()
	}
	p := &Pipeline{
		Path:         name,
		Dir:          dir,
		Name:         DefaultName(name),
		Sources:      map[string]*Connector{},
		Destinations: map[string]*Connector{},
	}
	d.pipeline(p, root, dir)
	if err := d.errs.err(); err != nil {
		return p, err
	}
	return p, nil
}

// DefaultName is the pipeline name of a file that sets none: the file's
// stem ("nightly.yaml" gives "nightly"), with every character outside
// [A-Za-z0-9_-] replaced by '_' so that the name is safe in file names
// ("..yaml" gives "_").
func DefaultName(path string) string {
	base := filepath.Base(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if stem == "" {
		stem = base
	}
	s := sanitize(stem)
	if s == "" || strings.Trim(s, "_") == "" && s != stem {
		// Only dots or other unsafe characters: keep a visible name.
		return "pipeline"
	}
	return s
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax reports a YAML syntax error in data.
func (d *decoder) syntax(data []byte, err error) {
	e := &Error{Pos: Position{File: d.file}, Err: err}
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		e.Pos.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
		if strings.Contains(m[2], "tab character") {
			// The parser names the line of the construct the tab breaks
			// (often the line before); point at the tab itself.
			if line, col := tabIndent(data, e.Pos.Line); line > 0 {
				e.Pos.Line, e.Pos.Col = line, col
				e.Msg += "; indent with spaces, not tabs"
			}
		}
	} else {
		e.Msg = "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
	}
	d.errs = append(d.errs, e)
}

// tabIndent returns the line and column of the first tab in the
// indentation of a line at or after line from (1-based), or 0, 0.
func tabIndent(data []byte, from int) (line, col int) {
	for i, l := range strings.Split(string(data), "\n") {
		if i+1 < from {
			continue
		}
		for j, r := range l {
			if r == '\t' {
				return i + 1, j + 1
			}
			if r != ' ' {
				break
			}
		}
	}
	return 0, 0
}

// decodeNode runs the YAML parser, turning a panic in it into an error.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

// document parses data into its root mapping, or reports why it cannot.
func (d *decoder) document(data []byte) *yaml.Node {
	const want = "a pipeline needs version, sources, destinations and flows"
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decodeNode(dec, &doc); err == io.EOF {
		d.errs = append(d.errs, &Error{Pos: Position{File: d.file}, Msg: "the file is empty; " + want})
		return nil
	} else if err != nil {
		d.syntax(data, err)
		return nil
	}
	var extra yaml.Node
	if err := decodeNode(dec, &extra); err == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		d.add(at, "", "a second YAML document starts here; a pipeline file holds one document")
		return nil
	} else if err != io.EOF {
		d.syntax(data, err)
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.errs = append(d.errs, &Error{Pos: Position{File: d.file}, Msg: "the file is empty; " + want})
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		d.add(root, "", "the file must be a mapping (%s), not %s", want, KindName(root))
		return nil
	}
	return root
}

// refs remembers what the flows may refer to.
type refs struct {
	// bad is true when the section could not be read, so references to
	// it are not checked.
	bad bool
	// names holds every instance name written, valid or not.
	names map[string]bool
}

func (d *decoder) pipeline(p *Pipeline, root *yaml.Node, dir string) {
	src := &refs{names: map[string]bool{}}
	dst := &refs{names: map[string]bool{}}
	var flows *entry
	var version *yaml.Node
	for _, e := range d.entries(root, "") {
		k := e.key.Value
		switch k {
		case "version":
			version = e.value
		case "name":
			if s, ok := d.str(e.value, k); ok {
				if !nameRe.MatchString(s) {
					d.add(e.value, k, "%s is not a valid pipeline name; %s", show(e.value, s), nameRule)
					break
				}
				p.Name = s
				p.NamePos = d.pos(e.value)
			} else if isNull(e.value) {
				d.add(e.value, k, "must not be empty; leave it out to use the file's name")
			}
		case "plugins_dir", "state_dir":
			if s, ok := d.path(e.value, k); ok {
				if k == "plugins_dir" {
					p.PluginsDir, p.PluginsDirPos = filepath.Join(dir, s), d.pos(e.value)
				} else {
					p.StateDir, p.StateDirPos = filepath.Join(dir, s), d.pos(e.value)
				}
				if filepath.IsAbs(s) {
					if k == "plugins_dir" {
						p.PluginsDir = s
					} else {
						p.StateDir = s
					}
				}
			}
		case "sources":
			d.connectors(e, RoleSource, p.Sources, &p.SourceNames, src)
		case "destinations":
			d.connectors(e, RoleDestination, p.Destinations, &p.DestinationNames, dst)
		case "flows":
			flows = &e
		default:
			if strings.HasPrefix(k, "x-") {
				continue
			}
			d.add(e.key, k, "unknown key%s; allowed keys are %s (and x-* keys, which are ignored)", Suggest(k, topKeys), strings.Join(topKeys, ", "))
		}
	}
	d.version(p, root, version)
	if flows == nil {
		d.add(root, "flows", "missing: nothing to run; add at least one flow from a source to a destination")
		return
	}
	d.flows(p, *flows, src, dst)
}

func (d *decoder) version(p *Pipeline, root, n *yaml.Node) {
	if n == nil || isNull(n) {
		at := root
		if n != nil {
			at = n
		}
		d.add(at, "version", "missing; add \"version: %d\" at the top of the file", Version)
		return
	}
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if v, err := strconv.Atoi(n.Value); err == nil && v == Version {
			p.Version = v
			return
		}
		d.add(n, "version", "%s is not supported; this host reads version %d", n.Value, Version)
		return
	}
	d.add(n, "version", "must be the number %d, not %s", Version, KindName(n))
}

func (d *decoder) connectors(e entry, role Role, into map[string]*Connector, names *[]string, r *refs) {
	section := role.section()
	n := resolve(e.value)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, section, "must be a mapping of %s names to their settings, not %s", role, KindName(n))
		r.bad = true
		return
	}
	for _, ce := range d.entries(n, section) {
		name := ce.key.Value
		r.names[name] = true
		path := section + "." + name
		if !nameRe.MatchString(name) {
			d.add(ce.key, path, "invalid %s name; %s", role, nameRule)
			continue
		}
		if c := d.connector(name, role, path, ce); c != nil {
			into[name] = c
			*names = append(*names, name)
		}
	}
}

func (d *decoder) connector(name string, role Role, path string, ce entry) *Connector {
	v := resolve(ce.value)
	if v == nil || v.Kind != yaml.MappingNode {
		d.add(ce.value, path, "must be a mapping with type and the connector's settings, not %s", KindName(v))
		return nil
	}
	c := &Connector{Name: name, Role: role, Pos: d.pos(ce.key), node: v}
	entries, _ := mappingEntries(v) // problems are reported by config
	for _, e := range entries {
		switch e.key.Value {
		case "type":
			kp := path + ".type"
			if s, ok := d.str(e.value, kp); ok {
				if !typeRe.MatchString(s) {
					d.add(e.value, kp, "%s is not a connector type; a type is lowercase letters, digits, _ and -, starting with a letter, at most 64 characters (csv, postgres, ...)", show(e.value, s))
				} else {
					c.Type = s
				}
			} else if isNull(e.value) {
				d.add(e.value, kp, "must not be empty; set it to the connector type (csv, postgres, ...)")
			}
		case "resilience":
			r := resolve(e.value)
			switch {
			case isNull(r):
			case r.Kind == yaml.MappingNode, r.Kind == yaml.ScalarNode && r.ShortTag() == "!!bool":
				c.Resilience = r
			default:
				d.add(e.value, path+".resilience", "must be a mapping of resilience settings or false, not %s", KindName(r))
			}
		}
	}
	if _, ok := findEntry(entries, "type"); !ok {
		d.add(ce.key, path+".type", "missing; set it to the connector type (csv, postgres, ...)")
	}
	c.Config, c.EnvFields = d.config(v, path)
	return c
}

func findEntry(entries []entry, key string) (entry, bool) {
	for _, e := range entries {
		if e.key.Value == key {
			return e, true
		}
	}
	return entry{}, false
}

func (d *decoder) flows(p *Pipeline, e entry, src, dst *refs) {
	n := resolve(e.value)
	if isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		d.add(e.value, "flows", "empty: nothing to run; add at least one flow from a source to a destination")
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n, "flows", "must be a list of flows, not %s", KindName(n))
		return
	}
	for i, fn := range n.Content {
		if f := d.flow(p, i, fn, src, dst); f != nil {
			p.Flows = append(p.Flows, f)
		}
	}
	d.names(p.Flows)
	d.targets(p.Flows)
}

// flow decodes one flow. It returns nil when the flow is not a mapping.
func (d *decoder) flow(p *Pipeline, i int, fn *yaml.Node, src, dst *refs) *Flow {
	f := &Flow{Index: i, Mode: sdk.ModeReplace, fields: map[string]Position{}}
	path := f.path()
	fn = resolve(fn)
	f.Pos = d.pos(fn)
	if fn.Kind != yaml.MappingNode {
		d.add(fn, path, "must be a mapping with from, to and the flow's settings, not %s", KindName(fn))
		return nil
	}
	var modeNode, keyNode *yaml.Node
	for _, e := range d.entries(fn, path) {
		k := e.key.Value
		kp := path + "." + k
		if isNull(e.value) {
			continue
		}
		f.fields[k] = d.pos(resolve(e.value))
		switch k {
		case "name":
			if s, ok := d.str(e.value, kp); ok {
				if !nameRe.MatchString(s) {
					d.add(e.value, kp, "%s is not a valid flow name; %s", show(e.value, s), nameRule)
					delete(f.fields, k)
				} else {
					f.Name = s
				}
			}
		case "from":
			f.From, _ = d.str(e.value, kp)
		case "to":
			f.To, _ = d.str(e.value, kp)
		case "stream":
			f.Stream, _ = d.str(e.value, kp)
		case "target":
			f.Target, _ = d.str(e.value, kp)
		case "mode":
			modeNode = e.value
			if s, ok := d.str(e.value, kp); ok {
				switch m := sdk.WriteMode(s); m {
				case sdk.ModeReplace, sdk.ModeAppend, sdk.ModeUpsert:
					f.Mode = m
				default:
					d.add(e.value, kp, "%s is not allowed; use replace, append or upsert", show(e.value, s))
				}
			}
		case "key":
			keyNode = e.value
			f.Key = d.columns(e.value, kp)
		case "incremental":
			f.Incremental = d.incremental(e.value, kp)
		case "schedule":
			if s, ok := d.str(e.value, kp); ok {
				if _, err := cronexpr.Parse(s); err != nil {
					d.add(e.value, kp, "%s", err.Error())
				} else {
					f.Schedule = s
				}
			}
		default:
			d.add(e.key, kp, "unknown key%s; allowed keys are %s", Suggest(k, flowKeys), strings.Join(flowKeys, ", "))
		}
	}
	if f.Target == "" {
		f.Target = f.Stream
	}
	if f.Incremental != nil {
		switch {
		case modeNode == nil:
			// An incremental run reads only the new rows: appending them is
			// the only default that keeps the rows read before.
			f.Mode = sdk.ModeAppend
		case f.Mode == sdk.ModeReplace:
			d.add(modeNode, path+".mode", "replace cannot be used with incremental: a run reads only the rows past the stored cursor, "+
				"and replace would leave the target holding just those (or nothing, when nothing is new); "+
				"use mode: append, or mode: upsert with key, or remove incremental to copy the whole stream every run")
		}
	}
	switch {
	case f.Mode == sdk.ModeUpsert && keyNode == nil:
		d.add(modeNode, path+".key", "missing: mode upsert needs key, the list of key columns")
	case f.Mode == sdk.ModeUpsert && len(f.Key) == 0:
		// columns reported the problem, or the list is empty:
		if n := resolve(keyNode); n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			d.add(keyNode, path+".key", "is empty: mode upsert needs at least one key column")
		}
	case f.Mode != sdk.ModeUpsert && keyNode != nil:
		d.add(keyNode, path+".key", "is used only with mode upsert; remove it or set mode: upsert")
	}
	d.ref(f, fn, "from", f.From, RoleSource, p.SourceNames, src, dst)
	d.ref(f, fn, "to", f.To, RoleDestination, p.DestinationNames, dst, src)
	return f
}

// ref checks that the flow's from or to names an instance of role.
func (d *decoder) ref(f *Flow, fn *yaml.Node, key, name string, role Role, names []string, own, other *refs) {
	path := f.path() + "." + key
	pos := f.FieldPos(key)
	at := func(format string, args ...any) {
		d.errs = append(d.errs, &Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	list := "the file defines no " + role.section()
	if len(names) > 0 {
		list = "the " + role.section() + " are " + strings.Join(names, ", ")
	}
	switch {
	case name == "" && !f.has(key):
		at("missing; set it to the name of a %s (%s)", role, list)
	case name == "":
	case own.names[name] || own.bad:
		// defined (a bad definition is reported on its own)
	case other.names[name]:
		otherRole := RoleDestination
		if role == RoleDestination {
			otherRole = RoleSource
		}
		at("%q is a %s, not a %s; %s", name, otherRole, role, list)
	default:
		at("no %s named %q%s; %s", role, name, Suggest(name, names), list)
	}
}

// columns reads a key: a column name or a list of them.
func (d *decoder) columns(n *yaml.Node, path string) []string {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if s, ok := d.str(n, path); ok && s != "" {
			return []string{s}
		}
		d.add(n, path, "must be a column name or a list of column names, not an empty string")
		return nil
	case yaml.SequenceNode:
		var cols []string
		seen := map[string]bool{}
		for i, c := range n.Content {
			cp := path + "[" + strconv.Itoa(i) + "]"
			c = resolve(c)
			if c.Kind != yaml.ScalarNode || isNull(c) {
				d.add(c, cp, "must be a column name, not %s", KindName(c))
				continue
			}
			s, ok := d.str(c, cp)
			switch {
			case !ok:
			case s == "":
				d.add(c, cp, "must be a column name, not an empty string")
			case seen[s]:
				d.add(c, cp, "column %q is listed twice", s)
			default:
				seen[s] = true
				cols = append(cols, s)
			}
		}
		return cols
	}
	d.add(n, path, "must be a column name or a list of column names, not %s", KindName(n))
	return nil
}

func (d *decoder) incremental(n *yaml.Node, path string) *Incremental {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "must be a mapping such as {cursor: updated_at}, not %s", KindName(n))
		return nil
	}
	inc := &Incremental{Pos: d.pos(n)}
	for _, e := range d.entries(n, path) {
		switch e.key.Value {
		case "cursor":
			inc.Cursor, _ = d.str(e.value, path+".cursor")
		default:
			d.add(e.key, path+"."+e.key.Value, "unknown key%s; allowed keys are cursor", Suggest(e.key.Value, []string{"cursor"}))
		}
	}
	if inc.Cursor == "" {
		d.add(n, path+".cursor", "missing; set it to the cursor column, e.g. updated_at")
		return nil
	}
	return inc
}

// names gives unnamed flows their default names and checks that names
// are unique.
func (d *decoder) names(flows []*Flow) {
	explicit := map[string]bool{}
	bases := map[string]int{}
	for _, f := range flows {
		if f.has("name") {
			explicit[f.Name] = true
		} else if f.From != "" && f.To != "" {
			bases[f.From+"_to_"+f.To]++
		}
	}
	for _, f := range flows {
		if f.has("name") || f.From == "" || f.To == "" {
			continue
		}
		base := f.From + "_to_" + f.To
		f.Name = base
		if (bases[base] > 1 || explicit[base]) && f.Target != "" {
			f.Name = base + "_" + sanitize(f.Target)
		}
	}
	first := map[string]*Flow{}
	for _, f := range flows {
		if f.Name == "" {
			continue
		}
		g, dup := first[f.Name]
		if !dup {
			first[f.Name] = f
			continue
		}
		if f.has("name") {
			d.errs = append(d.errs, &Error{Pos: f.FieldPos("name"), Path: f.path() + ".name",
				Msg: fmt.Sprintf("%q is already the name of %s (line %d); flow names must be unique", f.Name, g.path(), g.Pos.Line)})
		} else {
			d.errs = append(d.errs, &Error{Pos: f.Pos, Path: f.path() + ".name",
				Msg: fmt.Sprintf("the default name %q is already the name of %s (line %d); set name to tell them apart", f.Name, g.path(), g.Pos.Line)})
		}
	}
}

// sanitize makes a target usable in a flow name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// targets refuses two flows writing the same target of a destination.
func (d *decoder) targets(flows []*Flow) {
	first := map[string]*Flow{}
	for _, f := range flows {
		if f.From == "" || f.To == "" {
			continue
		}
		target := f.Target
		if target == "" {
			target = "\x00" + f.From // the only stream of f.From
		}
		k := f.To + "\x00" + target
		g, dup := first[k]
		if !dup {
			first[k] = f
			continue
		}
		what := fmt.Sprintf("target %q", f.Target)
		if f.Target == "" {
			what = fmt.Sprintf("the stream of source %q", f.From)
		}
		d.errs = append(d.errs, &Error{Pos: f.FieldPos("target"), Path: f.path() + ".target",
			Msg: fmt.Sprintf("%s writes %s in destination %q, as %s (line %d) does; the two would overwrite each other", f.path(), what, f.To, g.path(), g.Pos.Line)})
	}
}

// Suggest returns " (did you mean X?)" for the allowed word closest to s
// (edit distance below 3, ignoring case), or "" when none is close. Other
// decoders of the pipeline file (resilience settings) word their unknown-key
// errors with it too; connectors use the same function (sdk/configkey).
func Suggest(s string, allowed []string) string { return configkey.Suggest(s, allowed) }

// CheckModes checks each flow's mode against its destination's spec
// (specs maps destination instance names to the specs of their plugins;
// a destination missing from it is not checked). Problems come back as an
// ErrorList, at each flow's mode.
func (p *Pipeline) CheckModes(specs map[string]sdk.Spec) error {
	var errs ErrorList
	for _, f := range p.Flows {
		if spec, ok := specs[f.To]; ok {
			if err := p.CheckMode(f, spec); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs.err()
}

// CheckMode checks a flow's mode against its destination's spec; nil when
// the destination takes it. A spec with no WriteModes accepts replace and
// append.
func (p *Pipeline) CheckMode(f *Flow, spec sdk.Spec) *Error {
	modes := spec.WriteModes
	if len(modes) == 0 {
		modes = []sdk.WriteMode{sdk.ModeReplace, sdk.ModeAppend}
	}
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = string(m)
		if m == f.Mode {
			return nil
		}
	}
	typ := spec.Name
	if c := p.Destinations[f.To]; c != nil {
		typ = c.Type
	}
	what := fmt.Sprintf("%q", f.Mode)
	if !f.has("mode") {
		what = fmt.Sprintf("the default mode %s", f.Mode)
	}
	return &Error{Pos: f.FieldPos("mode"), Path: f.path() + ".mode",
		Msg: fmt.Sprintf("%s is not supported by destination %q (%s); use %s", what, f.To, typ, strings.Join(names, " or "))}
}

// Secrets returns the secret values of every connector of the pipeline
// (see Connector.Secrets).
func (p *Pipeline) Secrets() []string {
	var out []string
	for _, n := range p.SourceNames {
		out = append(out, p.Sources[n].Secrets()...)
	}
	for _, n := range p.DestinationNames {
		out = append(out, p.Destinations[n].Secrets()...)
	}
	return out
}
