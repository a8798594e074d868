package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/host/state"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// jsonVersion is the version of the shape of every `--output json`
// document (its "version" field). Adding a field keeps the version;
// removing or renaming one, or changing its meaning, raises it. The shapes
// are documented in docs/cli.md.
const jsonVersion = 1

// Output formats (--output).
const (
	outputText = "text"
	outputJSON = "json"
)

// outputFlags adds --output (-o) and --log-format to every command.
func (a *app) outputFlags(root *cobra.Command) {
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format on stderr: text, or json (one JSON object per line)")
	root.PersistentFlags().StringVarP(&a.output, "output", "o", outputText, "what run, validate, check, discover, resilience, plugins list, state list and version print on stdout: text, or json (one JSON document; see docs/cli.md)")
}

// outputFromArgs is the --output (-o) value of a command line cobra could
// not parse, or text.
func outputFromArgs(args []string) string {
	for i, arg := range args {
		if arg == "--" {
			break
		}
		switch {
		case (arg == "--output" || arg == "-o") && i+1 < len(args):
			return args[i+1]
		case strings.HasPrefix(arg, "--output="):
			return strings.TrimPrefix(arg, "--output=")
		case strings.HasPrefix(arg, "-o") && len(arg) > 2:
			return strings.TrimPrefix(strings.TrimPrefix(arg, "-o"), "=")
		}
	}
	return outputText
}

// jsonOutput reports whether the command prints JSON (--output json).
func (a *app) jsonOutput() bool { return a.output == outputJSON }

// textOut is where text output goes: stdout, or nowhere with --output
// json (the JSON document is then all stdout gets).
func (a *app) textOut() io.Writer {
	if a.jsonOutput() {
		return io.Discard
	}
	return a.stdout
}

// writeJSON writes doc to stdout as one indented JSON document, in one
// write, through the redacting writer. After it, run prints no error
// document of its own.
func (a *app) writeJSON(doc any) error {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the JSON output: %w", err)
	}
	a.wroteJSON = true
	_, err = a.stdout.Write(append(b, '\n'))
	return err
}

// jsonCommands are the commands that can print JSON, by command path.
var jsonCommands = map[string]bool{
	"sqlflow-host run": true, "sqlflow-host validate": true, "sqlflow-host check": true,
	"sqlflow-host discover": true, "sqlflow-host resilience": true, "sqlflow-host plugins list": true,
	"sqlflow-host state list": true, "sqlflow-host version": true,
	"sqlflow-host submit": true, "sqlflow-host schedule": true, "sqlflow-host jobs list": true,
	"sqlflow-host jobs show": true, "sqlflow-host jobs cancel": true, "sqlflow-host jobs retry": true,
}

// checkOutput validates --output for cmd.
func (a *app) checkOutput(cmd *cobra.Command) error {
	switch a.output {
	case outputText:
		return nil
	case outputJSON:
		if !jsonCommands[cmd.CommandPath()] {
			return &usageError{fmt.Errorf("--output json: %s prints text only; JSON is printed by run, validate, check, discover, resilience, plugins list, state list, version, submit, schedule and jobs", cmd.CommandPath())}
		}
		return nil
	}
	return &usageError{fmt.Errorf("--output %q: use text or json", a.output)}
}

// errorJSON is an error in a JSON document.
type errorJSON struct {
	// Class is the error's class as the engine knows it: TRANSIENT,
	// RATE_LIMITED, AUTH_EXPIRED or PERMANENT (from the connector),
	// CONFIGURATION (the pipeline's configuration or the command line),
	// CANCELED (interrupted), or UNKNOWN.
	Class string `json:"class"`
	// Message is the whole error, as the text output prints it.
	Message string `json:"message"`
}

// newErrorJSON returns err as an errorJSON; nil for a nil err.
func newErrorJSON(err error) *errorJSON {
	if err == nil {
		return nil
	}
	return &errorJSON{Class: errorClass(err), Message: err.Error()}
}

// errorClass names err's class (see errorJSON.Class). A problem of the
// configuration is CONFIGURATION even when a connector's PERMANENT error
// says it (a key the connector refused), as the exit status 2 does.
func errorClass(err error) string {
	var ue *usageError
	var ce *engine.ConfigError
	var cerr *config.Error
	var clist config.ErrorList
	var se *state.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "CANCELED"
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &cerr), errors.As(err, &clist), errors.As(err, &se),
		errors.Is(err, plugin.ErrUnknownType):
		return "CONFIGURATION"
	}
	return errclass.Of(err).String()
}

// errorDocJSON is the document of a command that failed before it could
// print its own (a usage error, a pipeline file that does not load).
type errorDocJSON struct {
	Version int        `json:"version"`
	Command string     `json:"command"`
	Error   *errorJSON `json:"error"`
}

// commandName is a command path without the program's name ("plugins
// list").
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()), " ")
}

// runJSON is `run --output json`.
type runJSON struct {
	Version  int    `json:"version"`
	Command  string `json:"command"`
	Pipeline string `json:"pipeline"`
	// Status is ok when every flow succeeded, else failed.
	Status string     `json:"status"`
	Flows  []flowJSON `json:"flows"`
	// Error is the run's error: the flows' (as the last text line says)
	// or one that stopped the run before its flows.
	Error *errorJSON `json:"error"`
}

// flowJSON is one flow of runJSON.
type flowJSON struct {
	Name string `json:"name"`
	// Status is ok (committed), unchanged (an empty stream left the
	// target as it was), failed, or skipped (the run was stopped before
	// the flow's turn; its error is then CANCELED).
	Status     string  `json:"status"`
	Rows       int64   `json:"rows"`
	Bytes      int64   `json:"bytes"`
	Pages      int64   `json:"pages"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_sec"`
	Retries    int64   `json:"retries"`
	Restarts   int64   `json:"restarts"`
	// RateLimitWaitSeconds is the time waited on rate limits.
	RateLimitWaitSeconds float64 `json:"rate_limit_wait_seconds"`
	// Report is the destination's commit report (location, rows, …);
	// empty when nothing was committed.
	Report map[string]string `json:"report"`
	// Warning says why an empty stream left a replace target unchanged.
	Warning string `json:"warning,omitempty"`
	// Error is the flow's first error; null when it succeeded.
	Error *errorJSON `json:"error"`
}

// runDoc builds the JSON document of a run.
func runDoc(path string, results []engine.FlowResult, err error) runJSON {
	doc := runJSON{Version: jsonVersion, Command: "run", Pipeline: path, Status: "ok", Flows: []flowJSON{}, Error: newErrorJSON(err)}
	if err != nil {
		doc.Status = "failed"
	}
	for _, r := range results {
		f := flowJSON{Name: r.Flow, Status: "ok", Rows: r.Rows, Bytes: r.Bytes, Pages: r.Pages,
			Seconds: r.Elapsed.Seconds(), RowsPerSec: r.RowsPerSecond(),
			Retries: r.Resilience.Retries, Restarts: r.Resilience.Restarts,
			RateLimitWaitSeconds: r.Resilience.RateLimitWait.Seconds(),
			Report:               map[string]string{}, Warning: r.Warning, Error: newErrorJSON(r.Err)}
		for k, v := range r.Report {
			f.Report[k] = v
		}
		switch {
		case r.Skipped:
			f.Status = "skipped"
		case r.Err != nil:
			f.Status = "failed"
		case !r.Committed:
			f.Status = "unchanged"
		}
		doc.Flows = append(doc.Flows, f)
	}
	return doc
}

// versionJSON is `version --output json`.
type versionJSON struct {
	Version         int    `json:"version"`
	Command         string `json:"command"`
	HostVersion     string `json:"host_version"`
	ProtocolVersion int    `json:"protocol_version"`
	GoVersion       string `json:"go_version"`
}

func newVersionJSON() versionJSON {
	return versionJSON{Version: jsonVersion, Command: "version", HostVersion: version, ProtocolVersion: int(protocolVersion), GoVersion: runtime.Version()}
}

// validateJSON is `validate --output json`.
type validateJSON struct {
	Version  int    `json:"version"`
	Command  string `json:"command"`
	Pipeline string `json:"pipeline"`
	Valid    bool   `json:"valid"`
	// Sources, Destinations and Flows count what the file declares.
	Sources      int `json:"sources"`
	Destinations int `json:"destinations"`
	Flows        int `json:"flows"`
	// Problems are every problem found, in file order; empty when valid.
	Problems []problemJSON `json:"problems"`
}

// problemJSON is one problem of a pipeline file.
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func newValidateJSON(p *config.Pipeline, errs config.ErrorList) validateJSON {
	doc := validateJSON{Version: jsonVersion, Command: "validate", Pipeline: p.Path, Valid: len(errs) == 0,
		Sources: len(p.SourceNames), Destinations: len(p.DestinationNames), Flows: len(p.Flows), Problems: []problemJSON{}}
	for _, e := range errs {
		msg := e.Msg
		if msg == "" && e.Err != nil {
			msg = e.Err.Error()
		}
		doc.Problems = append(doc.Problems, problemJSON{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Col, Path: e.Path, Message: msg})
	}
	return doc
}

// checkJSON is `check --output json`.
type checkJSON struct {
	Version  int    `json:"version"`
	Command  string `json:"command"`
	Pipeline string `json:"pipeline"`
	// Status is ok when every check passed, else failed.
	Status     string               `json:"status"`
	Connectors []checkConnectorJSON `json:"connectors"`
	// Flows are checked only when every connector is; else empty.
	Flows []checkFlowJSON `json:"flows"`
}

// checkConnectorJSON is one connector's check.
type checkConnectorJSON struct {
	Role   string     `json:"role"`
	Name   string     `json:"name"`
	Type   string     `json:"type"`
	Status string     `json:"status"`
	Error  *errorJSON `json:"error"`
}

// checkFlowJSON is one flow's check.
type checkFlowJSON struct {
	Name   string     `json:"name"`
	Status string     `json:"status"`
	Error  *errorJSON `json:"error"`
}

// statusOf is "ok" for a nil err, else "failed".
func statusOf(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

// discoverJSON is `discover --output json`.
type discoverJSON struct {
	Version  int          `json:"version"`
	Command  string       `json:"command"`
	Pipeline string       `json:"pipeline"`
	Source   string       `json:"source"`
	Streams  []streamJSON `json:"streams"`
}

// streamJSON is one stream a source lists.
type streamJSON struct {
	Name string `json:"name"`
	// Default is true for the stream read by flows that name none.
	Default      bool     `json:"default"`
	PrimaryKey   []string `json:"primary_key"`
	CursorFields []string `json:"cursor_fields"`
	// Schema is null when the source knows it only after the first page.
	Schema []columnJSON `json:"schema"`
}

// columnJSON is one column of a stream's schema; Type is Arrow's name of
// the type (int64, utf8, timestamp[us, tz=UTC], decimal(12, 2), …).
type columnJSON struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

func newDiscoverJSON(path, source string, streams []sdk.Stream) discoverJSON {
	doc := discoverJSON{Version: jsonVersion, Command: "discover", Pipeline: path, Source: source, Streams: []streamJSON{}}
	for _, s := range streams {
		sj := streamJSON{Name: s.Name, Default: s.Default, PrimaryKey: nonNil(s.PrimaryKey), CursorFields: nonNil(s.CursorFields)}
		if s.Schema != nil {
			sj.Schema = []columnJSON{}
			for _, f := range s.Schema.Fields() {
				sj.Schema = append(sj.Schema, columnJSON{Name: f.Name, Type: f.Type.String(), Nullable: f.Nullable})
			}
		}
		doc.Streams = append(doc.Streams, sj)
	}
	return doc
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// resilienceJSON is `resilience --output json`.
type resilienceJSON struct {
	Version    int                       `json:"version"`
	Command    string                    `json:"command"`
	Pipeline   string                    `json:"pipeline"`
	Connectors []resilienceConnectorJSON `json:"connectors"`
}

// resilienceConnectorJSON is one connector's effective policy.
type resilienceConnectorJSON struct {
	Role    string `json:"role"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Profile string `json:"profile"`
	// Note says where the resilience class came from for a type that is
	// not built in; Why why its plugin did not start.
	Note    string `json:"note,omitempty"`
	Why     string `json:"why,omitempty"`
	Enabled bool   `json:"enabled"`
	// Fields are the policy's fields with their values and sources, in
	// the text output's order; only "enabled" when the policy is off.
	Fields []policyFieldJSON `json:"fields"`
	// Consumed are the connector's keys the host takes.
	Consumed []string `json:"consumed"`
}

// policyFieldJSON is one policy field: its value and where it came from.
type policyFieldJSON struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// pluginsJSON is `plugins list --output json`.
type pluginsJSON struct {
	Version    int    `json:"version"`
	Command    string `json:"command"`
	PluginsDir string `json:"plugins_dir"`
	// Lock is the lock file's path; null when there is none.
	Lock    *string      `json:"lock"`
	Plugins []pluginJSON `json:"plugins"`
}

// pluginJSON is one plugin found.
type pluginJSON struct {
	Type string `json:"type"`
	// Version, Roles and ResilienceClass are empty when it did not start.
	Version         string     `json:"plugin_version"`
	Roles           []string   `json:"roles"`
	ResilienceClass string     `json:"resilience_class"`
	Status          string     `json:"status"`
	Locked          bool       `json:"locked"`
	Error           *errorJSON `json:"error"`
}

// stateListJSON is `state list --output json`.
type stateListJSON struct {
	Version  int             `json:"version"`
	Command  string          `json:"command"`
	Pipeline string          `json:"pipeline"`
	StateDir string          `json:"state_dir"`
	Flows    []flowStateJSON `json:"flows"`
	// Orphans are state files of flows no longer in the file.
	Orphans []orphanStateJSON `json:"orphans"`
}

// flowStateJSON is one incremental flow's stored cursor.
type flowStateJSON struct {
	Name        string `json:"name"`
	CursorField string `json:"cursor_field"`
	// Cursor is the stored cursor value (JSON); null when none.
	Cursor json.RawMessage `json:"cursor"`
	// UpdatedAt is RFC 3339; empty when there is no cursor.
	UpdatedAt string `json:"updated_at"`
	// StoredIn is the state file's path, "destination NAME", or empty.
	StoredIn string     `json:"stored_in"`
	Error    *errorJSON `json:"error"`
}

// orphanStateJSON is the state file of a flow no longer in the file.
type orphanStateJSON struct {
	Flow string `json:"flow"`
	Path string `json:"path"`
}

func newFlowStateJSON(f *config.Flow, fs engine.FlowState) flowStateJSON {
	out := flowStateJSON{Name: f.Name, CursorField: f.Incremental.Cursor, Cursor: json.RawMessage("null")}
	if cur := fs.Current(); cur != nil {
		out.CursorField, out.UpdatedAt = cur.Owner.CursorField, cur.UpdatedAt.Format("2006-01-02T15:04:05.999999999Z07:00")
		if len(cur.Cursor) > 0 {
			out.Cursor = cur.Cursor
		}
	}
	switch {
	case fs.DestErr != nil:
		out.Error = newErrorJSON(fmt.Errorf("destination %s: %w", fs.Destination, fs.DestErr))
	case fs.LocalErr != nil:
		out.Error = newErrorJSON(fs.LocalErr)
	case fs.Committed != nil:
		out.StoredIn = "destination " + fs.Destination
	case fs.Local != nil:
		out.StoredIn = fs.File
	}
	return out
}
