package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// SpecLookup returns the Spec of a connector type's plugin when it is
// known without starting anything (plugin.Launcher.CachedSpec).
type SpecLookup func(typ string) (sdk.Spec, bool)

// classes are the resilience classes a connector whose Spec is not known
// yet may declare.
var classes = []sdk.ResilienceClass{sdk.ResilienceNetwork, sdk.ResilienceFile, sdk.ResilienceNone}

// CheckResilience resolves the resilience policy of every connector
// instance of p without starting any plugin, and returns the policies by
// instance (key "source:NAME" or "destination:NAME"), the warnings to
// print (deprecated keys) and every invalid setting at once as a
// config.ErrorList.
//
// A connector's profile comes from its plugin's Spec (its own resilience
// defaults, or its resilience class). specs says the Specs already known
// (nil: none). For a type whose Spec is not known yet, its settings are
// checked against the network, file and none profiles, reported only
// when no class accepts them, and its policy is left out of the map (the
// engine resolves it once the plugin's Spec is in; see Engine.Start).
func CheckResilience(p *config.Pipeline, specs SpecLookup) (map[string]resilience.Resolved, []resilience.Warning, error) {
	pols := map[string]resilience.Resolved{}
	var warns []resilience.Warning
	var errs config.ErrorList
	each := func(c *config.Connector) {
		if specs != nil {
			if spec, ok := specs(c.Type); ok {
				r, w, err := resilience.Resolve(c, &spec)
				warns = append(warns, w...)
				var list config.ErrorList
				switch {
				case errors.As(err, &list):
					errs = append(errs, list...)
				case err == nil:
					pols[key(c.Role, c.Name)] = r
				}
				// A Spec with invalid defaults is reported when its
				// instance starts.
				return
			}
		}
		var first error
		for _, class := range classes {
			_, _, err := resilience.Resolve(c, &sdk.Spec{ResilienceClass: class})
			if err == nil {
				return
			}
			if first == nil {
				first = err
			}
		}
		errs = append(errs, first.(config.ErrorList)...)
	}
	for _, n := range p.SourceNames {
		each(p.Sources[n])
	}
	for _, n := range p.DestinationNames {
		each(p.Destinations[n])
	}
	if len(errs) > 0 {
		return pols, warns, errs
	}
	return pols, warns, nil
}

// resolvePolicies resolves every instance's policy once, before any
// instance starts, logging the warnings; invalid settings come back as a
// *ConfigError (every time it is called), and their instances are not
// started. The profiles come from the plugins' Specs: each type's plugin
// is asked first, all at once, each binary once (a plugin that cannot
// start is reported when its instance starts; its settings are checked
// against the class profiles meanwhile).
func (e *Engine) resolvePolicies(ctx context.Context) error {
	e.mu.Lock()
	done, err := e.policies != nil, e.policyErr
	e.mu.Unlock()
	if done {
		return err
	}
	e.learnSpecs(ctx)
	pols, warns, err := CheckResilience(e.Pipeline, e.specs)
	for _, w := range warns {
		e.Logger.Warn(w.String())
	}
	bad := map[string]bool{}
	if list, ok := err.(config.ErrorList); ok {
		for _, c := range e.connectors() {
			prefix := c.Role.Section() + "." + c.Name + "."
			for _, fe := range list {
				if strings.HasPrefix(fe.Path, prefix) {
					bad[key(c.Role, c.Name)] = true
				}
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.policies, e.badPolicy = pols, bad
	if err != nil {
		e.policyErr = &ConfigError{Err: err}
	}
	return e.policyErr
}

// learnSpecs asks the plugin of every type the pipeline uses for its Spec,
// concurrently, so that the launcher knows them (e.specs). Each is started
// as the type's first instance, whose start then takes that process. Types
// a binary is named after go first: finding an alias asks every plugin
// for its Spec, which those starts have learnt by then.
func (e *Engine) learnSpecs(ctx context.Context) {
	if e.fetchSpec == nil {
		return
	}
	first := map[string]string{}
	var named, aliases []string
	for _, c := range e.connectors() {
		if _, ok := first[c.Type]; ok {
			continue
		}
		first[c.Type] = c.Name
		if e.named == nil || e.named(c.Type) {
			named = append(named, c.Type)
		} else {
			aliases = append(aliases, c.Type)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	for _, types := range [][]string{named, aliases} {
		var wg sync.WaitGroup
		for _, typ := range types {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.fetchSpec(ctx, typ, first[typ]); err != nil {
					e.Logger.Debug("plugin spec not learnt before the start", "type", typ, "error", err.Error())
				}
			}()
		}
		wg.Wait()
	}
}

// policy returns the policy of instance c once its plugin's spec is
// known: the one resolved before the start when its Spec was known then,
// else the one its Spec gives now. Invalid settings are a *ConfigError; a
// Spec with invalid resilience defaults is an error naming the plugin.
func (e *Engine) policy(c *config.Connector, spec sdk.Spec) (resilience.Resolved, error) {
	e.mu.Lock()
	r, ok := e.policies[key(c.Role, c.Name)]
	e.mu.Unlock()
	if ok {
		return r, nil
	}
	r, warns, err := resilience.Resolve(c, &spec)
	if err != nil {
		var list config.ErrorList
		if errors.As(err, &list) {
			return r, &ConfigError{Err: err}
		}
		return r, fmt.Errorf("%s %q (type %s): %w", c.Role, c.Name, c.Type, err)
	}
	for _, w := range warns {
		e.Logger.Warn(w.String())
	}
	return r, nil
}

// configJSON is the configuration sent to c's plugin: c.Config without
// the keys its policy took over (the legacy retry keys, for a plugin whose
// Spec asks for them), keys in file order.
func configJSON(c *config.Connector, pol resilience.Resolved) ([]byte, error) {
	return c.MarshalConfig(pol.Strip(c.Config))
}

// startPolicy returns the policy of c as far as it is known before or
// while its plugin starts: the one resolved before the start, else the
// one of its plugin's Spec when the launcher learnt it already, else its
// settings over the network profile (the class assumed for an unknown
// Spec). It sizes the supervisor's crash-loop limit and health checks.
func (e *Engine) startPolicy(c *config.Connector) resilience.Policy {
	e.mu.Lock()
	r, ok := e.policies[key(c.Role, c.Name)]
	e.mu.Unlock()
	if ok {
		return r.Policy
	}
	if e.specs != nil {
		if spec, ok := e.specs(c.Type); ok {
			if r, _, err := resilience.Resolve(c, &spec); err == nil {
				return r.Policy
			}
		}
	}
	for _, class := range classes {
		if r, _, err := resilience.Resolve(c, &sdk.Spec{ResilienceClass: class}); err == nil {
			return r.Policy
		}
	}
	return resilience.Default()
}

// freshConfig expands c's settings again from the current environment and
// encodes them for Configure without the keys the host consumed: what a
// restarted plugin, or one whose credentials expired, is configured with.
// Keys ending in _file are left to the connector, which reads the file
// again on every Configure.
func (e *Engine) freshConfig(c *config.Connector) (json.RawMessage, error) {
	cfg, err := c.Resolve(func(k string) (string, bool) { return os.LookupEnv(k) })
	if err != nil {
		return nil, err
	}
	if inst := e.Instance(c.Role, c.Name); inst != nil {
		return c.MarshalConfig(inst.Policy.Strip(cfg))
	}
	return configJSON(c, e.policyOf(c))
}

// policyOf returns the resolved policy of c, or an empty one.
func (e *Engine) policyOf(c *config.Connector) resilience.Resolved {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.policies[key(c.Role, c.Name)]
}
