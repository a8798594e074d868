package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func (a *app) resilienceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resilience FILE [NAME]",
		Short: "Print each connector's effective resilience policy and where every value came from",
		Long: "resilience prints, for every source and destination of a pipeline file (or the one named NAME),\n" +
			"its type, its profile and every policy field with its value and source: default, profile <name>,\n" +
			"simple key <key>, full block, legacy key <key> or off. Each type's plugin is started once to read its\n" +
			"Spec: its own defaults, or its resilience class (network is assumed when it cannot start).\n" +
			"Exits 2 when a setting is invalid. See docs/resilience.md.",
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			p, err := a.load(argv[0])
			if err != nil {
				return err
			}
			conns, err := selectConnectors(p, argv[1:])
			if err != nil {
				return err
			}
			var errs config.ErrorList
			var out strings.Builder
			doc := resilienceJSON{Version: jsonVersion, Command: "resilience", Pipeline: p.Path, Connectors: []resilienceConnectorJSON{}}
			specs := a.specSource(p)
			for i, c := range conns {
				spec, note, why := specs.describe(cmd.Context(), c)
				r, warns, err := resilience.Resolve(c, spec)
				for _, w := range warns {
					fmt.Fprintln(a.stderr, "warning:", w)
				}
				if err != nil {
					var list config.ErrorList
					if errors.As(err, &list) {
						errs = append(errs, list...)
						continue
					}
					return err
				}
				if i > 0 {
					out.WriteByte('\n')
				}
				writePolicy(&out, c, r, note, why)
				doc.Connectors = append(doc.Connectors, policyJSON(c, r, note, why))
			}
			if len(errs) > 0 {
				return errs
			}
			if a.jsonOutput() {
				return a.writeJSON(doc)
			}
			_, err = fmt.Fprint(a.stdout, out.String())
			return err
		},
	}
}

// selectConnectors returns the pipeline's sources and destinations in file
// order, or those named name (a source and a destination may share it).
func selectConnectors(p *config.Pipeline, name []string) ([]*config.Connector, error) {
	var out []*config.Connector
	for _, n := range p.SourceNames {
		if len(name) == 0 || n == name[0] {
			out = append(out, p.Sources[n])
		}
	}
	for _, n := range p.DestinationNames {
		if len(name) == 0 || n == name[0] {
			out = append(out, p.Destinations[n])
		}
	}
	if len(out) == 0 && len(name) > 0 {
		return nil, &usageError{fmt.Errorf("%s: no source or destination named %q; the sources are %s; the destinations are %s",
			p.Path, name[0], listOrNone(p.SourceNames), listOrNone(p.DestinationNames))}
	}
	return out, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// specSource asks plugins for their Specs, once per binary: one launcher
// for the whole command, which keeps what it learnt.
type specSource struct {
	l   *plugin.Launcher
	err error // the launcher could not be made
}

func (a *app) specSource(p *config.Pipeline) *specSource {
	l, err := a.launcher(a.dir(p))
	if err == nil {
		l.WorkDir = p.Dir
	}
	return &specSource{l: l, err: err}
}

// describe returns the Spec of c's plugin and a note for the header:
// empty for a connector that declares its own defaults; for one that
// relies on its class, the class its Spec declares; when the plugin
// cannot be started, nil (network assumed) with why.
func (s *specSource) describe(ctx context.Context, c *config.Connector) (spec *sdk.Spec, note, why string) {
	err := s.err
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var sp sdk.Spec
		if sp, err = s.l.Spec(ctx, c.Type); err == nil {
			spec = &sp
		}
	}
	if err != nil {
		return nil, "class unknown: profile network assumed", "its plugin did not start: " + firstLine(err.Error())
	}
	if len(spec.Resilience) > 0 {
		return spec, "", ""
	}
	class := spec.ResilienceClass
	if class == "" {
		class = sdk.ResilienceNetwork
	}
	return spec, "class " + string(class) + " from its plugin", ""
}

// policyJSON is one connector's policy as writePolicy prints it.
func policyJSON(c *config.Connector, r resilience.Resolved, note, why string) resilienceConnectorJSON {
	out := resilienceConnectorJSON{Role: string(c.Role), Name: c.Name, Type: c.Type, Profile: r.Profile, Note: note, Why: why,
		Enabled: r.Enabled, Fields: []policyFieldJSON{}, Consumed: nonNil(r.Consumed)}
	if !r.Enabled {
		out.Fields = append(out.Fields, policyFieldJSON{Name: "enabled", Value: "false", Source: fmt.Sprint(r.Sources["enabled"])})
		return out
	}
	for _, f := range resilience.Fields() {
		out.Fields = append(out.Fields, policyFieldJSON{Name: f, Value: fmt.Sprint(r.Value(f)), Source: fmt.Sprint(r.Sources[f])})
	}
	return out
}

// writePolicy prints one connector's policy: a header, then a line per
// field with its value and source. A connector without a policy gets one
// line, since none of its other fields applies.
func writePolicy(out *strings.Builder, c *config.Connector, r resilience.Resolved, note, why string) {
	head := c.Type + ", profile " + r.Profile
	if note != "" {
		head = c.Type + ", " + note
		if !r.ClassAssumed {
			head += ", profile " + r.Profile
		}
	}
	fmt.Fprintf(out, "%s %s (%s)\n", c.Role, c.Name, head)
	if why != "" {
		fmt.Fprintf(out, "  (%s)\n", why)
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if !r.Enabled {
		fmt.Fprintf(w, "  enabled\tfalse\t%s\n", r.Sources["enabled"])
		w.Flush()
		fmt.Fprintln(out, "  (no policy: calls go straight to the plugin, with no timeout, rate limit, circuit breaker or retry)")
	} else {
		for _, f := range resilience.Fields() {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", f, r.Value(f), r.Sources[f])
		}
		w.Flush()
	}
	if len(r.Consumed) > 0 {
		fmt.Fprintf(out, "  (%s: taken by the host, not sent to the plugin)\n", strings.Join(r.Consumed, ", "))
	}
}
