package resilience

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// Origin is the kind of place an effective policy value came from.
type Origin string

const (
	// FromDefault is the global default (no profile sets the field).
	FromDefault Origin = "default"
	// FromProfile is the connector's profile.
	FromProfile Origin = "profile"
	// FromSimpleKey is a tier-2 key: retry_attempts, timeout or a number
	// under rate_limit.
	FromSimpleKey Origin = "simple key"
	// FromBlock is a tier-3 block: retry, circuit_breaker, rate_limit,
	// recovery, or the enabled key of the resilience mapping.
	FromBlock Origin = "full block"
	// FromLegacy is an old retry key at the top of a connector whose Spec
	// asks for them (sdk.Spec.LegacyRetryKeys): timeout, max_retries or
	// retry_delay.
	FromLegacy Origin = "legacy key"
	// FromOff is a setting that turned a policy off: resilience: false,
	// enabled: false, or a block set to false.
	FromOff Origin = "off"
)

// Source says where one effective value came from.
type Source struct {
	Origin Origin
	// Name is the profile's name for FromProfile, the key for
	// FromSimpleKey and FromLegacy ("retry_attempts", "max_retries"), and
	// for FromBlock and FromOff the key written when it differs from the
	// field's path ("circuit_breaker.timeout" sets timeout; "rate_limit"
	// turns rate_limit.enabled on); empty otherwise.
	Name string
	// Pos is where the value is written; zero for FromDefault and
	// FromProfile.
	Pos config.Position
}

// String returns "default", "profile rest", "simple key retry_attempts",
// "full block", "full block circuit_breaker.timeout", "legacy key
// max_retries" or "off".
func (s Source) String() string {
	if s.Name == "" {
		return string(s.Origin)
	}
	return string(s.Origin) + " " + s.Name
}

// Warning is a problem that does not stop the pipeline, such as a
// deprecated key. The engine and the CLI print warnings.
type Warning struct {
	Pos  config.Position
	Path string
	Msg  string
}

// String returns "file:line:col: path: message".
func (w Warning) String() string {
	return (&config.Error{Pos: w.Pos, Path: w.Path, Msg: w.Msg}).Error()
}

// Resolved is a connector instance's effective policy and where each of
// its values came from.
type Resolved struct {
	Policy
	// Profile is the name of the profile the policy started from: the
	// connector's own (its Spec's name, when the Spec declares resilience
	// defaults) or its resilience class's (network, file, none).
	Profile string
	// ClassAssumed is true when the connector's Spec was not known: the
	// network profile was assumed.
	ClassAssumed bool
	// Sources maps every field path (see Fields) to where its value came
	// from.
	Sources map[string]Source
	// Consumed lists the connector's own top-level keys the policy took
	// over (the legacy retry keys timeout, max_retries and retry_delay, for
	// a connector whose Spec asks for them), in file order. They are not the plugin's
	// any more: remove them before Configure, with Strip.
	Consumed []string
}

// Strip returns a copy of a connector configuration (config.Connector's
// Config, or what Connector.Resolve returns) without the keys in
// r.Consumed, fit to send to the plugin. cfg itself is not changed.
func (r Resolved) Strip(cfg map[string]any) map[string]any {
	out := make(map[string]any, len(cfg))
	for k, v := range cfg {
		out[k] = v
	}
	for _, k := range r.Consumed {
		delete(out, k)
	}
	return out
}

// The keys users write.
var (
	topKeys = []string{"enabled", "retry_attempts", "timeout", "commit_timeout", "rate_limit", "retry", "circuit_breaker", "recovery"}

	blockKeys = map[string][]string{
		"retry":           {"enabled", "max_attempts", "initial_delay", "max_delay", "backoff_multiplier", "jitter"},
		"circuit_breaker": {"enabled", "failure_threshold", "recovery_timeout", "success_threshold", "timeout", "shared"},
		"rate_limit":      {"enabled", "max_requests_per_minute", "burst_size", "per_host", "backpressure_strategy", "shared"},
		"recovery":        {"enabled", "enable_connection_recovery", "enable_credential_refresh", "recovery_check_interval", "max_restarts", "restart_window"},
	}

	// blockWhat names a block's settings in messages.
	blockWhat = map[string]string{
		"retry": "retry", "circuit_breaker": "circuit-breaker", "rate_limit": "rate-limit", "recovery": "recovery",
	}

	// legacyKeys are the old retry keys of connectors whose Spec sets
	// LegacyRetryKeys, in the order the deprecation warning shows them.
	legacyKeys = []string{"timeout", "max_retries", "retry_delay"}
)

// Resolve returns the effective policy of connector c, whose plugin's
// Spec is spec (nil when it is not known): its profile (the defaults the
// Spec declares, else the profile of its resilience class; network when
// spec is nil), the legacy retry keys when the Spec asks for them and c
// has no resilience mapping, the tier-2 keys and the tier-3 blocks of
// c.Resilience, in that order of precedence (lowest first).
//
// A Spec whose resilience defaults are invalid is an error that is not a
// config.ErrorList: the plugin, not the pipeline file, is at fault.
//
// Problems come back as a config.ErrorList holding every problem at once,
// each with its file:line:col, field path (such as
// "sources.orders_api.resilience.retry.backoff_multiplier") and what is
// allowed; the Resolved is then incomplete. Warnings (a deprecated key)
// come back as data for the caller to print.
func Resolve(c *config.Connector, spec *sdk.Spec) (Resolved, []Warning, error) {
	prof, err := profileOf(c.Type, spec)
	if err != nil {
		return Resolved{}, nil, err
	}
	r := &resolver{
		c:    c,
		base: roleSection(c.Role) + "." + c.Name,
		res: Resolved{
			Profile:      prof.name,
			ClassAssumed: spec == nil,
			Sources:      map[string]Source{},
		},
		user: map[string]bool{},
	}
	for path, v := range globalDefault {
		mustSet(&r.res.Policy, path, v)
		r.res.Sources[path] = Source{Origin: FromDefault}
	}
	for path, v := range prof.values {
		mustSet(&r.res.Policy, path, v)
		r.res.Sources[path] = Source{Origin: FromProfile, Name: prof.name}
	}
	if spec != nil && spec.LegacyRetryKeys {
		r.legacy()
	}
	if n := c.Resilience; n != nil {
		switch n = resolveAlias(n); {
		case n.Kind == yaml.MappingNode:
			r.mapping(n)
		case isBool(n):
			on, _ := r.boolValue(n, r.base+".resilience")
			if !on {
				r.set("enabled", false, Source{Origin: FromOff, Pos: r.pos(n)})
			}
		}
	}
	r.crossChecks()
	if len(r.errs) > 0 {
		sort.SliceStable(r.errs, func(i, j int) bool {
			a, b := r.errs[i].Pos, r.errs[j].Pos
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return r.res, r.warns, r.errs
	}
	return r.res, r.warns, nil
}

func roleSection(role config.Role) string {
	if role == config.RoleDestination {
		return "destinations"
	}
	return "sources"
}

// resolver collects one connector's policy, problems and warnings.
type resolver struct {
	c     *config.Connector
	base  string // "sources.orders_api"
	res   Resolved
	errs  config.ErrorList
	warns []Warning
	// user marks the fields the user set (any tier or legacy key).
	user map[string]bool
}

func (r *resolver) pos(n *yaml.Node) config.Position {
	return config.Position{File: r.c.Pos.File, Line: n.Line, Col: n.Column}
}

func (r *resolver) errAt(pos config.Position, path, format string, args ...any) {
	r.errs = append(r.errs, &config.Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (r *resolver) errNode(n *yaml.Node, path, format string, args ...any) {
	r.errAt(r.pos(n), path, format, args...)
}

// set sets a field and records its source.
func (r *resolver) set(path string, v any, s Source) {
	mustSet(&r.res.Policy, path, v)
	r.res.Sources[path] = s
	if s.Origin != FromDefault && s.Origin != FromProfile {
		r.user[path] = true
	}
}

// yamlEntry is one key and value of a mapping.
type yamlEntry struct{ key, value *yaml.Node }

// entries lists the keys of mapping n in file order, following aliases
// and merge keys (<<; explicit keys win over merged ones), and reports
// duplicate and non-string keys.
func (r *resolver) entries(n *yaml.Node, path string) []yamlEntry {
	var out []yamlEntry
	seen := map[string]*yaml.Node{}
	var merged []yamlEntry
	visited := map[*yaml.Node]bool{n: true}
	var merge func(v *yaml.Node)
	merge = func(v *yaml.Node) {
		v = resolveAlias(v)
		switch {
		case v != nil && v.Kind == yaml.MappingNode && !visited[v]:
			visited[v] = true
			for i := 0; i+1 < len(v.Content); i += 2 {
				k := resolveAlias(v.Content[i])
				if k == nil || k.Kind != yaml.ScalarNode {
					continue
				}
				if k.ShortTag() == "!!merge" {
					merge(v.Content[i+1])
					continue
				}
				merged = append(merged, yamlEntry{k, v.Content[i+1]})
			}
		case v != nil && v.Kind == yaml.SequenceNode && !visited[v]:
			visited[v] = true
			for _, item := range v.Content {
				merge(item)
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolveAlias(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			r.errNode(n.Content[i], path, "keys must be strings")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merge(n.Content[i+1])
			continue
		}
		if first, ok := seen[k.Value]; ok {
			r.errNode(n.Content[i], path, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, yamlEntry{k, n.Content[i+1]})
	}
	for _, e := range merged {
		if _, ok := seen[e.key.Value]; !ok {
			seen[e.key.Value] = e.key
			out = append(out, e)
		}
	}
	return out
}

// mapping applies a resilience: mapping: tier-2 keys first, then the
// tier-3 blocks, then enabled.
func (r *resolver) mapping(n *yaml.Node) {
	path := r.base + ".resilience"
	var enabled *yamlEntry
	blocks := map[string]yamlEntry{}
	var simple []yamlEntry
	for _, e := range r.entries(n, path) {
		k := e.key.Value
		if isNull(e.value) {
			continue // a key without a value is left out
		}
		switch k {
		case "enabled":
			enabled = &e
		case "retry_attempts", "timeout", "commit_timeout":
			simple = append(simple, e)
		case "rate_limit":
			if v := resolveAlias(e.value); v.Kind == yaml.ScalarNode && isNumber(v) {
				simple = append(simple, e)
			} else {
				blocks[k] = e
			}
		case "retry", "circuit_breaker", "recovery":
			blocks[k] = e
		default:
			r.errNode(e.key, path+"."+k, "unknown key%s; allowed keys are %s", config.Suggest(k, topKeys), strings.Join(topKeys, ", "))
		}
	}
	anySetting := len(simple) > 0 || len(blocks) > 0
	// A tier-2 key mixed with the tier-3 block it maps to.
	for _, e := range simple {
		switch e.key.Value {
		case "retry_attempts":
			if b, ok := blocks["retry"]; ok {
				r.errNode(e.key, path+".retry_attempts", "cannot be used together with the retry block (line %d); set max_attempts inside retry instead", b.key.Line)
				continue
			}
		case "timeout":
			if b, ok := blocks["circuit_breaker"]; ok {
				if t, ok := findKey(r, b.value, "timeout"); ok {
					r.errNode(e.key, path+".timeout", "cannot be used together with circuit_breaker.timeout (line %d), which sets the same per-call timeout; keep one of them", t.key.Line)
					continue
				}
			}
		}
		r.simpleKey(e, path)
	}
	for _, k := range []string{"retry", "circuit_breaker", "rate_limit", "recovery"} {
		if e, ok := blocks[k]; ok {
			r.block(k, e, path)
		}
	}
	switch {
	case enabled != nil:
		if on, ok := r.boolValue(enabled.value, path+".enabled"); ok {
			s := Source{Origin: FromBlock, Pos: r.pos(enabled.value)}
			if !on {
				s.Origin = FromOff
			}
			r.set("enabled", on, s)
		}
	case anySetting && !r.res.Enabled:
		// Settings written for a connector whose profile has no policy
		// (memory) turn the policy on.
		first := simple
		origin := FromSimpleKey
		if len(blocks) > 0 {
			origin = FromBlock
			first = nil
			for _, b := range blocks {
				first = append(first, b)
			}
		}
		sort.Slice(first, func(i, j int) bool { return first[i].key.Line < first[j].key.Line })
		r.set("enabled", true, Source{Origin: origin, Name: first[0].key.Value, Pos: r.pos(first[0].key)})
	}
}

// findKey returns the yamlEntry of key in mapping n (nil when n is not one).
func findKey(r *resolver, n *yaml.Node, key string) (yamlEntry, bool) {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return yamlEntry{}, false
	}
	probe := &resolver{c: r.c, res: Resolved{Sources: map[string]Source{}}, user: map[string]bool{}}
	for _, e := range probe.entries(n, "") {
		if e.key.Value == key && !isNull(e.value) {
			return e, true
		}
	}
	return yamlEntry{}, false
}

// simpleKey applies a tier-2 key.
func (r *resolver) simpleKey(e yamlEntry, path string) {
	k := e.key.Value
	s := Source{Origin: FromSimpleKey, Name: k, Pos: r.pos(e.value)}
	kp := path + "." + k
	switch k {
	case "retry_attempts":
		if v, ok := r.number(mustField("retry.max_attempts"), e.value, kp); ok {
			r.set("retry.max_attempts", v, s)
		}
	case "timeout":
		if v, ok := r.number(mustField("timeout"), e.value, kp); ok {
			r.set("timeout", v, s)
		}
	case "commit_timeout":
		if v, ok := r.number(mustField("commit_timeout"), e.value, kp); ok {
			r.set("commit_timeout", v, s)
		}
	case "rate_limit":
		if v, ok := r.number(mustField("rate_limit.max_requests_per_minute"), e.value, kp); ok {
			r.set("rate_limit.max_requests_per_minute", v, s)
			if !r.res.RateLimit.Enabled {
				r.set("rate_limit.enabled", true, s)
			}
		}
	}
}

// block applies a tier-3 block: a mapping, true (on with the profile's
// values) or false (off).
func (r *resolver) block(name string, e yamlEntry, path string) {
	kp := path + "." + name
	v := resolveAlias(e.value)
	if isBool(v) {
		on, _ := r.boolValue(v, kp)
		r.toggle(name, on, Source{Origin: FromBlock, Name: name, Pos: r.pos(v)})
		return
	}
	if v.Kind != yaml.MappingNode {
		what := "a mapping of " + blockWhat[name] + " settings, true or false"
		if name == "rate_limit" {
			what = "a number of requests per minute, " + what
		}
		r.errNode(v, kp, "must be %s, not %s", what, config.KindName(v))
		return
	}
	allowed := blockKeys[name]
	on := true
	var onSrc Source
	for _, be := range r.entries(v, kp) {
		k := be.key.Value
		fp := kp + "." + k
		if isNull(be.value) {
			continue
		}
		if !containsString(allowed, k) {
			r.errNode(be.key, fp, "unknown key%s; allowed keys are %s", config.Suggest(k, allowed), strings.Join(allowed, ", "))
			continue
		}
		if k == "enabled" {
			if b, ok := r.boolValue(be.value, fp); ok {
				on = b
				onSrc = Source{Origin: FromBlock, Name: name + ".enabled", Pos: r.pos(be.value)}
			}
			continue
		}
		target := name + "." + k
		s := Source{Origin: FromBlock, Pos: r.pos(be.value)}
		if name == "circuit_breaker" && k == "timeout" {
			target = "timeout"
			s.Name = "circuit_breaker.timeout"
		}
		f := mustField(target)
		switch f.kind {
		case kindBool:
			if b, ok := r.boolValue(be.value, fp); ok {
				r.set(target, b, s)
			}
		case kindStrategy:
			if st, ok := r.strategy(be.value, fp); ok {
				r.set(target, st, s)
			}
		default:
			if x, ok := r.number(f, be.value, fp); ok {
				r.set(target, x, s)
			}
		}
	}
	if onSrc.Pos.Line == 0 {
		onSrc = Source{Origin: FromBlock, Name: name, Pos: r.pos(e.key)}
	}
	r.toggle(name, on, onSrc)
}

// toggle turns the policy of a block on or off. Off: the breaker or the
// limiter is disabled, retry makes one attempt, recovery neither restarts
// nor refreshes. On: the breaker or the limiter is enabled if the profile
// had it off; retry and recovery keep their values.
func (r *resolver) toggle(name string, on bool, s Source) {
	if !on {
		s.Origin = FromOff
		switch name {
		case "retry":
			r.set("retry.max_attempts", 1, s)
		case "circuit_breaker", "rate_limit":
			r.set(name+".enabled", false, s)
		case "recovery":
			r.set("recovery.enable_connection_recovery", false, s)
			r.set("recovery.enable_credential_refresh", false, s)
		}
		return
	}
	switch name {
	case "circuit_breaker", "rate_limit":
		if !fieldValue(&r.res.Policy, name+".enabled").(bool) {
			r.set(name+".enabled", true, s)
		}
	}
}

func mustField(path string) field {
	f, ok := fieldByPath(path)
	if !ok {
		panic("resilience: unknown field " + path)
	}
	return f
}

// number reads a number field (kindInt, kindSeconds or kindNumber) and
// checks its range; it returns an int, a time.Duration or a float64.
func (r *resolver) number(f field, n *yaml.Node, path string) (any, bool) {
	n = resolveAlias(n)
	if n.Kind != yaml.ScalarNode || !isNumber(n) {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.Contains(n.Value, "${") {
			hint = " (environment variables are not expanded under resilience)"
		}
		r.errNode(n, path, "must be %s, not %s%s", f.allowed, config.KindName(n), hint)
		return nil, false
	}
	var x float64
	if err := n.Decode(&x); err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		r.errNode(n, path, "must be %s, not %s", f.allowed, n.Value)
		return nil, false
	}
	if f.kind == kindInt && (n.ShortTag() != "!!int" || x != math.Trunc(x)) {
		r.errNode(n, path, "%s is not allowed; use %s", n.Value, f.allowed)
		return nil, false
	}
	if x < f.lo || (f.loOpen && x == f.lo) || x > f.hi {
		r.errNode(n, path, "%s is not allowed; use %s", n.Value, f.allowed)
		return nil, false
	}
	switch f.kind {
	case kindInt:
		return int(x), true
	case kindSeconds:
		return secondsToDuration(x), true
	}
	return x, true
}

// boolValue reads a boolean.
func (r *resolver) boolValue(n *yaml.Node, path string) (bool, bool) {
	n = resolveAlias(n)
	if !isBool(n) {
		r.errNode(n, path, "must be true or false, not %s", config.KindName(n))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		r.errNode(n, path, "must be true or false, not %s", config.KindName(n))
		return false, false
	}
	return b, true
}

// strategy reads a backpressure strategy.
func (r *resolver) strategy(n *yaml.Node, path string) (Strategy, bool) {
	n = resolveAlias(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		r.errNode(n, path, "must be wait or fail, not %s", config.KindName(n))
		return "", false
	}
	switch s := Strategy(n.Value); s {
	case StrategyWait, StrategyFail:
		return s, true
	}
	r.errNode(n, path, "%q is not allowed; use wait (block until a request is allowed) or fail (fail the call at once as rate limited)", n.Value)
	return "", false
}

// crossChecks checks the rules between fields of the merged policy.
func (r *resolver) crossChecks() {
	p := &r.res.Policy
	if p.Retry.MaxDelay < p.Retry.InitialDelay && (r.user["retry.max_delay"] || r.user["retry.initial_delay"]) {
		at := "retry.max_delay"
		if !r.user[at] {
			at = "retry.initial_delay"
		}
		s := r.res.Sources[at]
		r.errAt(s.Pos, r.fieldPath(at, s), "max_delay %s is below initial_delay %s (%s); max_delay must be at least initial_delay",
			formatSeconds(p.Retry.MaxDelay), formatSeconds(p.Retry.InitialDelay), r.res.Sources["retry.initial_delay"])
	}
}

// fieldPath is the path, in the file, of the setting that gave a field
// its value.
func (r *resolver) fieldPath(field string, s Source) string {
	switch s.Origin {
	case FromLegacy:
		return r.base + "." + s.Name
	case FromSimpleKey:
		return r.base + ".resilience." + s.Name
	}
	return r.base + ".resilience." + field
}

// legacy maps the old retry keys (timeout, max_retries, retry_delay at the
// connector's top level) onto the policy, with one deprecation warning. When the connector has a resilience mapping or
// resilience: false, the resilience settings win and the old keys are
// ignored. Either way the keys are consumed: the plugin never sees them.
func (r *resolver) legacy() {
	var found []string
	for _, k := range legacyKeys {
		if _, ok := r.c.Config[k]; ok {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := r.c.KeyPos(found[i]), r.c.KeyPos(found[j])
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	r.res.Consumed = found
	ignored := false
	if n := r.c.Resilience; n != nil && (resolveAlias(n).Kind == yaml.MappingNode || !isTrue(n)) {
		ignored = true
	}
	// Read and check the values; the policy takes them unless ignored.
	type kv struct {
		key string
		v   float64
	}
	var vals []kv
	for _, k := range found {
		pos := r.c.Locate(k)
		path := r.base + "." + k
		x, ok := legacyNumber(r.c.Config[k])
		var allowed string
		switch k {
		case "timeout":
			allowed = "a number of seconds above 0, at most 86400"
			ok = ok && x > 0 && x <= maxSeconds
		case "max_retries":
			allowed = "a whole number of retries after the first try, from 0 to 99"
			ok = ok && x >= 0 && x <= 99 && x == math.Trunc(x)
		case "retry_delay":
			allowed = "a number of seconds from 0 to 86400"
			ok = ok && x >= 0 && x <= maxSeconds
		}
		if !ok {
			r.errAt(pos, path, "must be %s (this deprecated key sets the host's retry policy)", allowed)
			continue
		}
		vals = append(vals, kv{k, x})
	}
	profMax := r.res.Retry.MaxDelay
	var eq, retry []string // the equivalent resilience: lines
	for _, v := range vals {
		s := Source{Origin: FromLegacy, Name: v.key, Pos: r.c.Locate(v.key)}
		num := strconv.FormatFloat(v.v, 'f', -1, 64)
		switch v.key {
		case "timeout":
			eq = append(eq, "timeout: "+num)
			if !ignored {
				r.set("timeout", secondsToDuration(v.v), s)
			}
		case "max_retries":
			retry = append(retry, "max_attempts: "+strconv.Itoa(int(v.v)+1))
			if !ignored {
				r.set("retry.max_attempts", int(v.v)+1, s)
			}
		case "retry_delay":
			d := secondsToDuration(v.v)
			retry = append(retry, "initial_delay: "+num)
			if d > profMax {
				// The profile's cap would be below the delay: raise it.
				retry = append(retry, "max_delay: "+num)
			}
			if !ignored {
				r.set("retry.initial_delay", d, s)
				if d > profMax {
					r.set("retry.max_delay", d, s)
				}
			}
		}
	}
	if len(retry) == 1 && strings.HasPrefix(retry[0], "max_attempts: ") {
		eq = append(eq, "retry_attempts: "+strings.TrimPrefix(retry[0], "max_attempts: "))
	} else if len(retry) > 0 {
		eq = append(eq, "retry: {"+strings.Join(retry, ", ")+"}")
	}
	if len(vals) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s deprecated", joinAnd(found), isAre(len(found)))
	them := "them"
	if len(found) == 1 {
		them = "it"
	}
	if ignored {
		fmt.Fprintf(&b, " and ignored: this connector also sets resilience:, which wins; remove %s, or move %s into resilience: as", them, them)
	} else {
		fmt.Fprintf(&b, "; the host applies %s as this resilience: setting, which you can write instead", them)
	}
	b.WriteString(":\n  resilience:")
	for _, l := range eq {
		b.WriteString("\n    " + l)
	}
	r.warns = append(r.warns, Warning{Pos: r.c.KeyPos(found[0]), Path: r.base, Msg: b.String()})
}

// legacyNumber reads an old key's value: a number, or a string holding one
// (the old tool converted them).
func legacyNumber(v any) (float64, bool) {
	str, ok := v.(string)
	if !ok {
		return specNumber(v)
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(str), 64)
	if err != nil {
		return 0, false
	}
	return x, !math.IsInf(x, 0) && !math.IsNaN(x)
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func containsString(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// resolveAlias follows aliases.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolveAlias(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func isBool(n *yaml.Node) bool {
	n = resolveAlias(n)
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool"
}

func isTrue(n *yaml.Node) bool {
	var b bool
	return isBool(n) && resolveAlias(n).Decode(&b) == nil && b
}

func isNumber(n *yaml.Node) bool {
	t := n.ShortTag()
	return t == "!!int" || t == "!!float"
}
