package engine

import (
	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// CheckResilience resolves the resilience policy of every connector
// instance of p without starting any plugin, and returns the policies by
// instance (key "source:NAME" or "destination:NAME"), the warnings to
// print (deprecated keys) and every invalid setting at once as a
// config.ErrorList.
//
// A type without a profile of its own (a third-party plugin) takes the
// profile of the resilience class its Spec declares, which is not known
// yet: its settings are checked against the network, file and none
// profiles, reported only when no class accepts them, and its policy is
// left out of the map (the engine resolves it once the plugin's Spec is
// in; see Engine.Start).
func CheckResilience(p *config.Pipeline) (map[string]resilience.Resolved, []resilience.Warning, error) {
	pols := map[string]resilience.Resolved{}
	var warns []resilience.Warning
	var errs config.ErrorList
	each := func(c *config.Connector) {
		if resilience.BuiltinType(c.Type) {
			r, w, err := resilience.Resolve(c, "")
			warns = append(warns, w...)
			if err != nil {
				errs = append(errs, err.(config.ErrorList)...)
				return
			}
			pols[key(c.Role, c.Name)] = r
			return
		}
		var first error
		for _, class := range []sdk.ResilienceClass{sdk.ResilienceNetwork, sdk.ResilienceFile, sdk.ResilienceNone} {
			_, _, err := resilience.Resolve(c, class)
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
// plugin starts, logging the warnings; invalid settings come back as a
// *ConfigError.
func (e *Engine) resolvePolicies() error {
	e.mu.Lock()
	done := e.policies != nil
	e.mu.Unlock()
	if done {
		return nil
	}
	pols, warns, err := CheckResilience(e.Pipeline)
	if err != nil {
		return &ConfigError{Err: err}
	}
	for _, w := range warns {
		e.Logger.Warn(w.String())
	}
	e.mu.Lock()
	e.policies = pols
	e.mu.Unlock()
	return nil
}

// policy returns the policy of instance c once its plugin's spec is
// known: the one resolved before the start for a built-in type, else the
// one of the class the spec declares (empty means network).
func (e *Engine) policy(c *config.Connector, spec sdk.Spec) (resilience.Resolved, error) {
	e.mu.Lock()
	r, ok := e.policies[key(c.Role, c.Name)]
	e.mu.Unlock()
	if ok {
		return r, nil
	}
	class := spec.ResilienceClass
	if class == "" {
		class = sdk.ResilienceNetwork
	}
	r, warns, err := resilience.Resolve(c, class)
	if err != nil {
		return r, &ConfigError{Err: err}
	}
	for _, w := range warns {
		e.Logger.Warn(w.String())
	}
	return r, nil
}

// configJSON is the configuration sent to c's plugin: c.Config without
// the keys its policy took over (the legacy retry keys of rest and
// shopify), keys in file order.
func configJSON(c *config.Connector, pol resilience.Resolved) ([]byte, error) {
	return c.MarshalConfig(pol.Strip(c.Config))
}
