package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// versionLine is what `version` and `--version` print: the host's
// version, the connector protocol version and the Go version it was built
// with.
func versionLine() string {
	return fmt.Sprintf("sqlflow-host %s (connector protocol %d, %s)", version, protocolVersion, runtime.Version())
}

// unknownCommandArg finds the command name in cobra's unknown-command error.
var unknownCommandArg = regexp.MustCompile(`^unknown command "([^"]*)"`)

// unknownCommand rewrites cobra's unknown-command error (several lines,
// with a tab-indented "Did you mean this?" list) as one line:
// `unknown command "rnu"; did you mean "run"? (sqlflow-host --help lists
// the commands)`.
func unknownCommand(root *cobra.Command, err error) error {
	m := unknownCommandArg.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	msg := fmt.Sprintf("unknown command %q", m[1])
	if s := closest(m[1], root.SuggestionsFor(m[1])); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return errors.New(msg + " (" + root.Name() + " --help lists the commands)")
}

// closest returns the suggestion (cobra's: close in spelling, or starting
// with s) nearest to s in spelling, the first on a tie; "" when there is
// none.
func closest(s string, suggestions []string) string {
	if len(suggestions) == 0 {
		return ""
	}
	if hint := configkey.Suggest(s, suggestions); hint != "" {
		return strings.TrimSuffix(strings.TrimPrefix(hint, " (did you mean "), "?)")
	}
	return suggestions[0]
}

// unknownSubcommands makes a command that only groups others (plugins,
// state) refuse an unknown subcommand as the root does, with a usage error
// (exit 2) and a one-line hint, instead of printing its help and exiting
// 0; without arguments it prints its help.
func unknownSubcommands(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c == root || !c.HasSubCommands() || c.Runnable() {
			return
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, argv []string) error {
			if len(argv) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", argv[0], cmd.CommandPath())
			cmd.SuggestionsMinimumDistance = 2 // cobra's default, set by Execute on the root only
			if s := closest(argv[0], cmd.SuggestionsFor(argv[0])); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return &usageError{errors.New(msg + " (" + cmd.CommandPath() + " --help lists the commands)")}
		}
	}
	walk(root)
}

// logLevels are --log-level's values, for completion.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// registerCompletions makes shell completion (`sqlflow-host completion
// bash|zsh|fish|powershell`) complete, from the pipeline file given first:
// pipeline files (*.yaml, *.yml), the sources and destinations each
// command takes, a source's streams for preview (asking the source, as
// discover does), flows for --select and the state commands, and the log
// levels and output formats. It reads the file only; nothing but preview's
// STREAM starts a plugin.
func (a *app) registerCompletions(root *cobra.Command) {
	names := func(kind string) func(p pipelineNames) []string {
		return func(p pipelineNames) []string { return p[kind] }
	}
	second := map[string]func(p pipelineNames) []string{
		"discover": names("sources"), "preview": names("sources"),
		"check": names("connectors"), "resilience": names("connectors"),
		"state show": names("flows"), "state reset": names("flows"),
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		path := commandName(c)
		if c.Use == "" || !strings.Contains(c.Use, "FILE") {
			return
		}
		more := second[path]
		c.ValidArgsFunction = func(cmd *cobra.Command, argv []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch {
			case len(argv) == 0:
				return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
			case more != nil && (len(argv) == 1 || path == "state reset"):
				return pipelineCompletion(argv[0], more)
			case path == "preview" && len(argv) == 2:
				return a.streamCompletion(cmd, argv[0], argv[1])
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if c.Flags().Lookup("select") != nil {
			_ = c.RegisterFlagCompletionFunc("select", func(_ *cobra.Command, argv []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(argv) == 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return pipelineCompletion(argv[0], names("flows"))
			})
		}
	}
	walk(root)
	_ = root.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions(logLevels, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputText, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
}

// pipelineNames are a pipeline file's names by kind: "sources",
// "connectors" (sources and destinations) and "flows".
type pipelineNames map[string][]string

// pipelineCompletion completes the names pick returns from the pipeline
// file path; nothing when it does not load.
func pipelineCompletion(path string, pick func(pipelineNames) []string) ([]cobra.Completion, cobra.ShellCompDirective) {
	p, _ := config.Load(path)
	if p == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	n := pipelineNames{"sources": p.SourceNames}
	n["connectors"] = append(append([]string{}, p.SourceNames...), p.DestinationNames...)
	for _, f := range p.Flows {
		n["flows"] = append(n["flows"], f.Name)
	}
	return pick(n), cobra.ShellCompDirectiveNoFileComp
}

// streamCompletion completes a source's streams by asking it (it starts
// the source's plugin, bounded by a short deadline).
func (a *app) streamCompletion(cmd *cobra.Command, path, source string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if a.logger == nil {
		a.logger = hclog.NewNullLogger()
	}
	e, err := a.engine(path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	inst, err := a.source(ctx, e, source)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	streams, err := inst.Conn.Discover(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]cobra.Completion, len(streams))
	for i, s := range streams {
		out[i] = s.Name
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// helpWidth is the width help texts are wrapped to: $COLUMNS when set
// (shells export it to programs on a terminal when asked), else 80, the
// narrowest terminal the help must read well in.
func helpWidth(getenv func(string) string) int {
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return 80
}

// reflow wraps text to width: its paragraphs (separated by blank lines)
// are joined and broken again between words, so no line is cut or wrapped
// mid-word by a narrow terminal. Lines that start with spaces (examples)
// are kept as they are.
func reflow(text string, width int) string {
	var out []string
	for _, para := range strings.Split(text, "\n\n") {
		var lines []string
		var words []string
		flush := func() {
			if len(words) == 0 {
				return
			}
			line := ""
			for _, w := range words {
				switch {
				case line == "":
					line = w
				case len(line)+1+len(w) > width:
					lines = append(lines, line)
					line = w
				default:
					line += " " + w
				}
			}
			lines = append(lines, line)
			words = nil
		}
		for _, l := range strings.Split(para, "\n") {
			if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
				flush()
				lines = append(lines, l)
				continue
			}
			words = append(words, strings.Fields(l)...)
		}
		flush()
		out = append(out, strings.Join(lines, "\n"))
	}
	return strings.Join(out, "\n\n")
}

// wrapHelp makes every command's help wrap its long text to the width of
// the terminal (helpWidth) before cobra prints it.
func wrapHelp(root *cobra.Command, getenv func(string) string) {
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		c.Long = reflow(c.Long, helpWidth(getenv))
		help(c, args)
	})
}
