package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// specConn answers Spec and records Configure; nothing else is called.
type specConn struct {
	connector.Conn
	spec sdk.Spec
	mu   sync.Mutex
	cfg  map[string]any
	raw  string
}

func (c *specConn) Spec(context.Context) (sdk.Spec, error) { return c.spec, nil }

func (c *specConn) CheckWrite(context.Context, sdk.WriteRequest) (string, error) {
	return "", errclass.Wrap(errclass.Permanent, rpcclient.ErrNotImplemented)
}

func (c *specConn) Configure(_ context.Context, cfg json.RawMessage) ([]sdk.FieldError, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raw = string(cfg)
	return nil, json.Unmarshal(cfg, &c.cfg)
}

// testSpecs are Specs like the built-in plugins' (host tests do not
// import plugins/): a type found here gets its Spec, any other type a Spec
// with fakeEngine's class.
var testSpecs = map[string]sdk.Spec{
	"rest": {Name: "rest", ResilienceClass: sdk.ResilienceNetwork, HostKeys: []string{"url"}, LegacyRetryKeys: true,
		Resilience: map[string]any{"retry.max_attempts": 3, "timeout": 30, "rate_limit.enabled": true, "rate_limit.per_host": true}},
	"csv": {Name: "csv", ResilienceClass: sdk.ResilienceFile,
		Resilience: map[string]any{"retry.max_attempts": 2, "retry.initial_delay": 0.1, "retry.max_delay": 1, "circuit_breaker.enabled": false}},
	"memory": {Name: "memory", ResilienceClass: sdk.ResilienceNone,
		Resilience: map[string]any{"retry.max_attempts": 1, "circuit_breaker.enabled": false}},
}

func testSpecLookup(typ string) (sdk.Spec, bool) {
	s, ok := testSpecs[typ]
	return s, ok
}

// fakeEngine returns an engine whose connectors are specConns with the
// Spec of their type in testSpecs or else the given class, and the conns
// it started by instance name.
func fakeEngine(t *testing.T, src string, class sdk.ResilienceClass, log *strings.Builder) (*engine.Engine, map[string]*specConn) {
	t.Helper()
	p, err := config.Parse("p.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	started := map[string]*specConn{}
	var mu sync.Mutex
	start := func(_ context.Context, c *config.Connector) (connector.Conn, func(), error) {
		mu.Lock()
		defer mu.Unlock()
		spec, ok := testSpecs[c.Type]
		if !ok {
			spec = sdk.Spec{Name: c.Type, ResilienceClass: class}
		}
		spec.Source, spec.Destination = true, true
		sc := &specConn{spec: spec}
		started[c.Name] = sc
		return sc, func() {}, nil
	}
	logger := hclog.NewNullLogger()
	if log != nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Warn})
	}
	return engine.NewWithStarter(p, start, logger), started
}

func TestStartRefusesBadResilienceBeforeAnyPlugin(t *testing.T) {
	e, started := fakeEngine(t, `version: 1
sources:
  a:
    type: rest
    resilience: {retry_attempts: 0}
  b:
    type: memory
    resilience:
      rate_limit: {burst_size: 0}
destinations:
  d: {type: memory}
flows:
  - {from: a, to: d, target: t}
  - {from: b, to: d, target: u}
`, "", nil)
	defer e.Close()
	want := "p.yaml:5:34: sources.a.resilience.retry_attempts: 0 is not allowed; use a whole number from 1 to 100 (1 means no retry)\n" +
		"p.yaml:9:32: sources.b.resilience.rate_limit.burst_size: 0 is not allowed; use a whole number from 1 to 1000000"
	// run refuses before any plugin starts ...
	_, err := e.Run(context.Background(), engine.RunOptions{})
	var ce *engine.ConfigError
	if !errors.As(err, &ce) || err.Error() != want {
		t.Fatalf("run: got:\n%v\nwant:\n%s", err, want)
	}
	if len(started) != 0 {
		t.Errorf("plugins started: %v", started)
	}
	// ... and validate reports the same, with whatever else it finds in
	// the connectors it can start (only d here).
	err = e.Validate(context.Background())
	if !errors.As(err, &ce) || err.Error() != want {
		t.Errorf("validate: got:\n%v\nwant:\n%s", err, want)
	}
	if _, ok := started["a"]; ok {
		t.Errorf("validate started a connector whose resilience settings are invalid")
	}
}

func TestStartStripsLegacyKeysAndKeepsThePolicy(t *testing.T) {
	var log strings.Builder
	e, started := fakeEngine(t, `version: 1
sources:
  api:
    type: rest
    url: http://example.invalid
    timeout: 12
    max_retries: 4
    method: GET
destinations:
  d: {type: memory}
flows:
  - {from: api, to: d, target: t}
`, "", &log)
	defer e.Close()
	if err := e.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := started["api"].cfg
	if _, ok := cfg["timeout"]; ok {
		t.Errorf("timeout reached the plugin: %v", cfg)
	}
	if _, ok := cfg["max_retries"]; ok {
		t.Errorf("max_retries reached the plugin: %v", cfg)
	}
	if raw := started["api"].raw; raw != `{"url":"http://example.invalid","method":"GET"}` {
		t.Errorf("config sent %s, want the file's keys in file order without the legacy ones", raw)
	}
	pol := e.Instance(config.RoleSource, "api").Policy
	if pol.CallTimeout != 12*time.Second || pol.Retry.MaxAttempts != 5 || pol.Profile != "rest" {
		t.Errorf("policy %+v", pol)
	}
	if n := strings.Count(log.String(), "deprecated"); n != 1 {
		t.Errorf("want one deprecation warning, got %d:\n%s", n, log.String())
	}
}

func TestThirdPartyPolicyFollowsItsSpecClass(t *testing.T) {
	src := `version: 1
sources:
  f:
    type: ftp
    resilience:
      retry: {max_delay: 0.5}
destinations:
  d: {type: memory}
flows:
  - {from: f, to: d, target: t}
`
	// Valid for a file-class plugin (initial delay 0.1 s) ...
	e, _ := fakeEngine(t, src, sdk.ResilienceFile, nil)
	if err := e.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pol := e.Instance(config.RoleSource, "f").Policy; pol.Profile != "file" || pol.Retry.MaxDelay != 500*time.Millisecond {
		t.Errorf("policy %+v", pol)
	}
	e.Close()
	// ... but not for a network one (initial delay 1 s): refused once its
	// spec says so.
	e, _ = fakeEngine(t, src, sdk.ResilienceNetwork, nil)
	defer e.Close()
	err := e.Validate(context.Background())
	var ce *engine.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "p.yaml:6:26: sources.f.resilience.retry.max_delay: max_delay 0.5s is below initial_delay 1s (default)") {
		t.Errorf("got %v", err)
	}
}

func TestCheckResilience(t *testing.T) {
	p, err := config.Parse("p.yaml", []byte(`version: 1
sources:
  a: {type: csv, path: x.csv}
  f: {type: ftp, resilience: {retry_attempts: -1}}
destinations:
  d: {type: memory, resilience: false}
flows:
  - {from: a, to: d, target: t}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	pols, _, err := engine.CheckResilience(p, testSpecLookup)
	if err == nil || err.Error() != "p.yaml:4:47: sources.f.resilience.retry_attempts: -1 is not allowed; use a whole number from 1 to 100 (1 means no retry)" {
		t.Errorf("got %v", err)
	}
	if pols["source:a"].Profile != "csv" || pols["destination:d"].Enabled {
		t.Errorf("policies %+v", pols)
	}
	// Without the Specs every setting is still checked, against the class
	// profiles, and no policy is resolved before the plugins start.
	pols, _, err = engine.CheckResilience(p, nil)
	if err == nil || !strings.Contains(err.Error(), "sources.f.resilience.retry_attempts: -1 is not allowed") {
		t.Errorf("got %v", err)
	}
	if len(pols) != 0 {
		t.Errorf("policies without Specs: %+v", pols)
	}
}

// TestTargetHostFromSpec: the per-host limiter key comes from the keys a
// Spec declares, else the generic ones, else its DefaultHost.
func TestTargetHostFromSpec(t *testing.T) {
	for _, tt := range []struct {
		cfg  map[string]any
		spec sdk.Spec
		want string
	}{
		{map[string]any{"url": "https://API.Example.com:8443/x"}, sdk.Spec{}, "api.example.com"},
		{map[string]any{"dsn": "host=db port=5432", "host": "DB:5432"}, sdk.Spec{}, "db"},
		{map[string]any{"host": "[::1]:5432"}, sdk.Spec{}, "::1"},
		{map[string]any{"url": "not a host/path"}, sdk.Spec{}, ""},
		{map[string]any{"server": "Acme.example"}, sdk.Spec{}, ""},
		{map[string]any{"server": "Acme.example", "url": "http://other"}, sdk.Spec{HostKeys: []string{"server"}}, "acme.example"},
		{map[string]any{"url": "http://other"}, sdk.Spec{HostKeys: []string{"server"}, DefaultHost: "API.acme.example"}, "api.acme.example"},
		{map[string]any{}, sdk.Spec{}, ""},
	} {
		if got := engine.TargetHost(tt.cfg, tt.spec); got != tt.want {
			t.Errorf("TargetHost(%v, %+v) = %q, want %q", tt.cfg, tt.spec, got, tt.want)
		}
	}
}

// TestInvalidSpecDefaultsFailTheStart: a plugin whose Spec declares
// invalid resilience defaults does not start, with an error naming it.
func TestInvalidSpecDefaultsFailTheStart(t *testing.T) {
	testSpecs["badacme"] = sdk.Spec{Name: "badacme", Resilience: map[string]any{"retry.max_attempts": 0}}
	defer delete(testSpecs, "badacme")
	e, _ := fakeEngine(t, `version: 1
sources:
  a: {type: badacme}
destinations:
  d: {type: memory}
flows:
  - {from: a, to: d, target: t}
`, "", nil)
	defer e.Close()
	err := e.Validate(context.Background())
	if err == nil || !strings.Contains(err.Error(), `source "a" (type badacme): connector type badacme: its plugin's Spec declares invalid resilience defaults: retry.max_attempts: 0 is not allowed`) {
		t.Errorf("got %v", err)
	}
}
