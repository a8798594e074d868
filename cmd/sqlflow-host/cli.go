package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/plugin"
)

// version is the host's version, set at build time with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes, as ARCHITECTURE.md section 7 fixes them.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks a usage or configuration problem (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// app holds what every command shares.
type app struct {
	// stdout and stderr hide secrets (see redactor); term is the raw
	// stderr, for the terminal check.
	stdout, stderr io.Writer
	term           io.Writer
	red            *redactor
	pluginsDir     string
	logLevel       string
	logger         hclog.Logger
	// output is --output (text or json), logFormat --log-format (text or
	// json); wroteJSON is set once a JSON document was printed.
	output, logFormat string
	wroteJSON         bool
	// insecurePerms is --insecure-plugin-perms: warn about plugin files
	// other users could replace instead of refusing them.
	insecurePerms bool
	// launchers are closed (their socket directories removed) when the
	// command returns.
	launchers []*plugin.Launcher
	// logOut is the log's output: stderr, or run's live view while it
	// runs.
	logOut switchWriter
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	red := &redactor{}
	a := &app{stdout: red.writer(stdout), stderr: red.writer(stderr), term: stderr, red: red}
	a.logOut.w = a.stderr
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	a.closeLaunchers()
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if !errors.As(err, &ue) && strings.HasPrefix(err.Error(), "unknown command") {
		err = &usageError{unknownCommand(root, err)}
	}
	if !a.jsonOutput() {
		// cobra parses no flag of a command line it cannot resolve (an
		// unknown command): --output json asks for JSON all the same.
		a.output = outputFromArgs(args)
	}
	if a.jsonOutput() && !a.wroteJSON && cmd != nil {
		// Every command prints one document with --output json, also when
		// it stopped before its own (a usage error, a file that does not
		// load); the exit status stays as it is.
		_ = a.writeJSON(errorDocJSON{Version: jsonVersion, Command: commandName(cmd), Error: newErrorJSON(err)})
	}
	fmt.Fprintln(a.stderr, "error:", err)
	return exitCode(err)
}

func exitCode(err error) int {
	var ue *usageError
	var ce *engine.ConfigError
	var fe *engine.FlowsError
	if errors.As(err, &fe) {
		if fe.Configuration {
			return exitUsage
		}
		return exitFailed
	}
	var cerr *config.Error
	var clist config.ErrorList
	switch {
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &cerr), errors.As(err, &clist),
		errors.Is(err, plugin.ErrUnknownType):
		return exitUsage
	}
	return exitFailed
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sqlflow-host",
		Short: "Move data between connectors described in a pipeline file",
		Long: "sqlflow-host runs the flows of a pipeline file (YAML). Every connector runs as its own plugin\n" +
			"process; the host retries, rate-limits, restarts and commits for them.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level, err := logLevel(a.logLevel, cmd.Flags().Changed("log-level"), os.Getenv)
			if err != nil {
				return &usageError{err}
			}
			if a.logFormat != "text" && a.logFormat != "json" {
				return &usageError{fmt.Errorf("--log-format %q: use text or json", a.logFormat)}
			}
			if err := a.checkOutput(cmd); err != nil {
				return err
			}
			a.logger = hclog.New(&hclog.LoggerOptions{
				Name: "sqlflow-host", Level: level, Output: &a.logOut,
				// go-plugin reports every normal plugin exit at info level;
				// a run stops several plugins, so keep that line for debug.
				Exclude: func(l hclog.Level, msg string, _ ...any) bool {
					return l == hclog.Info && msg == "plugin process exited"
				},
				// --log-format json: hclog's JSON, one object per line.
				JSONFormat: a.logFormat == "json",
			})
			return nil
		},
	}
	// --version (and -v) print what the version command prints.
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.PersistentFlags().StringVar(&a.pluginsDir, "plugins-dir", "",
		"plugins directory (default: $SQLFLOW_PLUGINS_DIR, else plugins_dir in the pipeline file, else plugins/ beside the host binary)")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error, off (default: $SQLFLOW_LOG_LEVEL, else info)")
	root.PersistentFlags().BoolVar(&a.insecurePerms, "insecure-plugin-perms", false,
		"run plugins (and read or write plugins.lock) even when a user other than root or yours could replace them; each problem is logged as a warning (unsafe: use only where every local user is trusted)")
	root.AddCommand(a.runCommand(), a.validateCommand(), a.checkCommand(), a.discoverCommand(),
		a.previewCommand(), a.pluginsCommand(), a.versionCommand(), a.resilienceCommand(), a.stateCommand(), a.webhooksCommand(),
		a.workerCommand(), a.submitCommand(), a.scheduleCommand(), a.jobsCommand())
	a.outputFlags(root)
	a.registerCompletions(root)
	wrapHelp(root, os.Getenv)
	unknownSubcommands(root)
	return root
}

// logLevel is the log level: --log-level when given (flagSet), else
// $SQLFLOW_LOG_LEVEL when set, else flag (its default, info).
func logLevel(flag string, flagSet bool, getenv func(string) string) (hclog.Level, error) {
	name, from := flag, "--log-level"
	if env := getenv("SQLFLOW_LOG_LEVEL"); env != "" && !flagSet {
		name, from = env, "SQLFLOW_LOG_LEVEL"
	}
	level := hclog.LevelFromString(name)
	if level == hclog.NoLevel {
		return level, fmt.Errorf("%s %q: use trace, debug, info, warn, error or off", from, name)
	}
	return level, nil
}

// args wraps cobra's argument validators so a wrong count is a usage error.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := v(cmd, a); err != nil {
			return &usageError{fmt.Errorf("%s: %w (usage: %s)", cmd.CommandPath(), err, cmd.UseLine())}
		}
		return nil
	}
}

// load reads a pipeline file; every problem is a usage error.
func (a *app) load(path string) (*config.Pipeline, error) {
	p, err := config.Load(path)
	if p != nil {
		a.red.set(p.Secrets())
	}
	if err != nil {
		return nil, &usageError{err}
	}
	return p, nil
}

// dir resolves the plugins directory for a pipeline (nil: none).
func (a *app) dir(p *config.Pipeline) plugin.Dir {
	var fileDir, file, setting string
	if p != nil {
		fileDir, file, setting = p.Dir, p.Path, p.PluginsDir
	}
	return plugin.ResolveDir(a.pluginsDir, os.Getenv, fileDir, file, setting)
}

// perms is the rule for plugin files, as --insecure-plugin-perms says.
func (a *app) perms() plugin.Perms {
	return plugin.Perms{Insecure: a.insecurePerms, Logger: a.logger.Named("plugin")}
}

// launcher returns a launcher for dir under the host's permission rule;
// run closes it, removing its plugins' socket directory, when the command
// returns (after the command's own deferred engine Close has stopped the
// plugins).
func (a *app) launcher(dir plugin.Dir) (*plugin.Launcher, error) {
	l, err := plugin.NewLauncher(dir, a.logger.Named("plugin"), plugin.WithPerms(a.perms()))
	if err != nil {
		return nil, err
	}
	// A JSON log keeps a plugin's fields as fields.
	l.StructuredPluginLogs = a.logFormat == "json"
	a.launchers = append(a.launchers, l)
	return l, nil
}

// closeLaunchers closes the launchers the command made.
func (a *app) closeLaunchers() {
	for _, l := range a.launchers {
		if err := l.Close(); err != nil && a.logger != nil {
			a.logger.Warn("plugin socket directory left behind", "error", err)
		}
	}
	a.launchers = nil
}

// engine loads a pipeline and returns an engine over its plugins; the
// caller closes it.
func (a *app) engine(path string) (*engine.Engine, error) {
	p, err := a.load(path)
	if err != nil {
		return nil, err
	}
	l, err := a.launcher(a.dir(p))
	if err != nil {
		return nil, err
	}
	// Plugins run in the pipeline file's directory: relative paths in
	// connector settings are relative to the file.
	l.WorkDir = p.Dir
	return engine.New(p, l, a.logger), nil
}

func (a *app) isTerminal() bool {
	f, ok := a.term.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the host's version, the connector protocol version and the Go version",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.jsonOutput() {
				return a.writeJSON(newVersionJSON())
			}
			fmt.Fprintln(a.stdout, versionLine())
			return nil
		},
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
