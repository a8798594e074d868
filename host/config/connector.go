package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// Role is what a connector instance is in a pipeline.
type Role string

const (
	// RoleSource is an instance under sources:.
	RoleSource Role = "source"
	// RoleDestination is an instance under destinations:.
	RoleDestination Role = "destination"
)

// Section is the top-level key holding instances of role r: sources or
// destinations.
func (r Role) Section() string { return r.section() }

// section is the top-level key holding instances of role r.
func (r Role) section() string {
	if r == RoleSource {
		return "sources"
	}
	return "destinations"
}

// Connector is one named source or destination of a pipeline.
type Connector struct {
	// Name is the instance name, the key under sources: or destinations:.
	Name string
	// Type is the connector type (csv, postgres, ...); the plugin binary is
	// sqlflow-plugin-<Type>.
	Type string
	// Role says whether the instance is a source or a destination. A name
	// may be used for both; they are then two Connectors.
	Role Role
	// Config is the connector's own configuration: every key of the
	// instance except type and resilience, with environment variables
	// expanded. It is never nil. Send it with ConfigJSON.
	Config map[string]any
	// EnvFields maps the dotted path of every config value that refers to
	// environment variables (e.g. "auth.token", "hosts.0") to the names of
	// those variables. Resolve expands them again.
	EnvFields map[string][]string
	// Resilience is the raw resilience: value, unexpanded, with aliases
	// followed; nil when absent or null. It is a mapping or a boolean
	// (false turns resilience off; true is the same as leaving it out).
	// Decode it with yaml.Node.Decode; its Line and Column are positions
	// in Pos.File.
	Resilience *yaml.Node
	// Pos is the position of the instance's name.
	Pos Position

	node *yaml.Node // the instance mapping
}

// Resolve expands the connector's configuration again from env (nil means
// an empty environment), e.g. to pick up refreshed credentials before a
// new Configure. It does not change c. The result is what Config would be
// had the file been loaded with env; problems come back as an ErrorList.
func (c *Connector) Resolve(env func(string) (string, bool)) (map[string]any, error) {
	d := newDecoder(c.Pos.File, env)
	cfg, _ := d.config(c.node, c.path())
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// config converts the instance mapping n, without type and resilience.
func (d *decoder) config(n *yaml.Node, path string) (map[string]any, map[string][]string) {
	cfg := map[string]any{}
	refs := map[string][]string{}
	for _, e := range d.entries(n, path) {
		k := e.key.Value
		if k == "type" || k == "resilience" {
			continue
		}
		cfg[k] = d.value(e.value, joinPath(path, k), k, IsSecretKey(k), refs)
	}
	return cfg, refs
}

func (c *Connector) path() string { return c.Role.section() + "." + c.Name }

// Redacted returns a copy of Config fit for printing: values under
// secret-looking keys (see IsSecretKey) and values that refer to
// environment variables are replaced by "***".
func (c *Connector) Redacted() map[string]any {
	return redact(c.Config, "", c.EnvFields).(map[string]any)
}

func redact(v any, field string, env map[string][]string) any {
	if _, ok := env[field]; ok && field != "" {
		return "***"
	}
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			if IsSecretKey(k) && x != nil {
				m[k] = "***"
				continue
			}
			m[k] = redact(x, joinPath(field, k), env)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = redact(x, joinPath(field, strconv.Itoa(i)), env)
		}
		return s
	}
	return v
}

// secretNames are the key names that hold secrets, compared without
// regard to case.
var secretNames = map[string]bool{
	"password": true, "secret": true, "token": true, "key_value": true,
	"access_key_id": true, "secret_access_key": true, "session_token": true,
	"credentials_json": true, "api_key": true, "private_key": true,
	"client_secret": true, "dsn": true, "authorization": true,
	"x-api-key": true, "cookie": true,
}

// secretSuffixes mark a key name as secret-looking.
var secretSuffixes = []string{"_password", "_token", "_secret", "_api_key", "_private_key"}

// IsSecretKey reports whether a configuration key's name says it holds a
// secret: password, secret, token, key_value, access_key_id,
// secret_access_key, session_token, credentials_json, api_key,
// private_key, client_secret, dsn (it may hold a password), the HTTP
// headers Authorization, X-API-Key and Cookie, and any name ending in
// _password, _token, _secret, _api_key or _private_key. Case does not
// matter. Keys ending in _file (password_file) name a file, not a secret.
func IsSecretKey(name string) bool {
	name = strings.ToLower(name)
	if secretNames[name] {
		return true
	}
	for _, s := range secretSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// KeyPos returns the position of the key named key at the top of the
// instance's mapping, or c.Pos when there is no such key.
func (c *Connector) KeyPos(key string) Position {
	if c.node != nil {
		entries, _ := mappingEntries(c.node)
		for _, e := range entries {
			if e.key.Value == key {
				return Position{File: c.Pos.File, Line: e.key.Line, Col: e.key.Column}
			}
		}
	}
	return c.Pos
}

// Locate returns the position of the value at fieldPath in the instance's
// configuration: a dotted path as in sdk.FieldError.Field, e.g.
// "pagination.page_size", where numeric segments index lists
// ("headers.0"). When the path does not exist in the file (a required key
// left out, say) it returns the position of the nearest parent that does,
// and c.Pos for an empty path or a missing top-level key.
func (c *Connector) Locate(fieldPath string) Position {
	found := c.Pos
	n := c.node
	if fieldPath == "" || n == nil {
		return found
	}
	for seg := range strings.SplitSeq(fieldPath, ".") {
		n = resolve(n)
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			entries, _ := mappingEntries(n)
			for _, e := range entries {
				if e.key.Value == seg {
					next = e.value
					break
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			break
		}
		n = next
		found = Position{File: c.Pos.File, Line: n.Line, Col: n.Column}
	}
	return found
}

// FieldError turns a field error from the connector's Configure into an
// *Error at the field's position, with a path such as
// "sources.orders_api.pagination.page_size".
func (c *Connector) FieldError(fe sdk.FieldError) *Error {
	path := c.path()
	if fe.Field != "" {
		for seg := range strings.SplitSeq(fe.Field, ".") {
			if _, err := strconv.Atoi(seg); err == nil {
				path += "[" + seg + "]"
			} else {
				path += "." + seg
			}
		}
	}
	return &Error{Pos: c.Locate(fe.Field), Path: path, Msg: c.hideEnvValue(fe.Field, fe.Message)}
}

// hideEnvValue returns msg, a connector's message about field, with the
// field's value replaced by *** when it came from an environment variable:
// a connector quoting the value it refuses must not print what may be a
// secret kept in the environment (a token put in the wrong key).
func (c *Connector) hideEnvValue(field, msg string) string {
	if _, env := c.EnvFields[field]; !env || field == "" {
		return msg
	}
	var v any = c.Config
	for seg := range strings.SplitSeq(field, ".") {
		switch m := v.(type) {
		case map[string]any:
			v = m[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(m) {
				return msg
			}
			v = m[i]
		default:
			return msg
		}
	}
	s, ok := v.(string)
	if !ok {
		s = fmt.Sprint(v)
	}
	if s == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, strconv.Quote(s), `"***"`)
	return strings.ReplaceAll(msg, s, "***")
}

// Secrets returns the values of the connector's settings that are secrets:
// every string under a secret-looking key (see IsSecretKey), at any depth.
// A host hides them from everything it prints.
func (c *Connector) Secrets() []string {
	var out []string
	var walk func(v any, secret bool)
	walk = func(v any, secret bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, secret || IsSecretKey(k))
			}
		case []any:
			for _, x := range v {
				walk(x, secret)
			}
		case string:
			if secret && v != "" {
				out = append(out, v)
			}
		}
	}
	walk(c.Config, false)
	return out
}
