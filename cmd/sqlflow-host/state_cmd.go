package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/state"
)

func (a *app) stateCommand() *cobra.Command {
	var stateDir string
	var stateDB dbFlags
	cmd := &cobra.Command{
		Use:   "state",
		Short: "List, show or reset the stored cursors of incremental flows",
		Long: "A pipeline's incremental flows keep their cursor in the pipeline's state directory (state_dir in the\n" +
			"file, else .sqlflow/state beside the file; --state-dir overrides), one file per flow; a destination that\n" +
			"stores state with its commits (postgres) keeps the authoritative copy, which these commands also read\n" +
			"and reset.",
	}
	cmd.PersistentFlags().StringVar(&stateDir, "state-dir", "", "state directory (default: state_dir in the file, else .sqlflow/state beside the pipeline file)")
	cmd.PersistentFlags().StringVar(&stateDB.dsn, "db", "", "the job database of workers (docs/scale-out.md): the cursors they keep there instead of the state directory")
	cmd.PersistentFlags().StringVar(&stateDB.schema, "db-schema", "", "schema of the job tables (default: $SQLFLOW_DB_SCHEMA)")
	openStore := func(cmd *cobra.Command, e *engine.Engine) (state.Backend, func(), error) {
		if stateDB.dsn == "" {
			return e.StateStore(stateDir), func() {}, nil
		}
		jdb, err := stateDB.open(cmd.Context())
		if err != nil {
			return nil, nil, err
		}
		return jdb.State, jdb.Close, nil
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list FILE",
		Short: "List each flow's stored cursor",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			store, closeStore, err := openStore(cmd, e)
			if err != nil {
				return err
			}
			defer closeStore()
			out := a.textOut()
			doc := stateListJSON{Version: jsonVersion, Command: "state list", Pipeline: e.Pipeline.Path, StateDir: stateWhere(store), Flows: []flowStateJSON{}, Orphans: []orphanStateJSON{}}
			fmt.Fprintf(out, "pipeline %s, state in %s\n", e.Pipeline.Name, stateWhere(store))
			w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "FLOW\tCURSOR FIELD\tCURSOR\tUPDATED\tSTORED IN")
			bad := false
			for _, f := range e.Pipeline.Flows {
				if f.Incremental == nil {
					continue
				}
				fs := e.ReadState(cmd.Context(), store, f)
				cur := fs.Current()
				field, value, updated := f.Incremental.Cursor, "(none: the next run reads everything)", "-"
				if cur != nil {
					field, value, updated = cur.Owner.CursorField, string(cur.Cursor), cur.UpdatedAt.Format("2006-01-02 15:04:05Z07:00")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Name, field, cut(value, 60), updated, storedIn(fs))
				doc.Flows = append(doc.Flows, newFlowStateJSON(f, fs))
				bad = bad || fs.LocalErr != nil || fs.DestErr != nil
			}
			w.Flush()
			orphans, err := e.OrphanStates(store)
			if err != nil {
				return err
			}
			for _, o := range orphans {
				doc.Orphans = append(doc.Orphans, orphanStateJSON{Flow: o, Path: store.Path(e.Pipeline.Name, o)})
				fmt.Fprintf(out, "state of flow %s, which is no longer in the file: %s\n", o, store.Path(e.Pipeline.Name, o))
			}
			if a.jsonOutput() {
				if err := a.writeJSON(doc); err != nil {
					return err
				}
			}
			if bad {
				return fmt.Errorf("some stored state could not be read; see `sqlflow-host state show %s FLOW`", argv[0])
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show FILE FLOW",
		Short: "Print a flow's stored state",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			flows, err := a.flows(e, argv[1:])
			if err != nil {
				return err
			}
			f := flows[0]
			st, closeStore, err := openStore(cmd, e)
			if err != nil {
				return err
			}
			defer closeStore()
			fs := e.ReadState(cmd.Context(), st, f)
			fmt.Fprintf(a.stdout, "flow %s of pipeline %s\n", f.Name, e.Pipeline.Name)
			show := func(what string, st *state.Flow, err error) {
				switch {
				case err != nil:
					fmt.Fprintf(a.stdout, "%s: cannot be read: %v\n", what, err)
				case st == nil:
					fmt.Fprintf(a.stdout, "%s: none\n", what)
				default:
					data, _ := state.Encode(*st)
					fmt.Fprintf(a.stdout, "%s:\n%s", what, indent(strings.TrimRight(string(data), "\n"), "  ")+"\n")
				}
			}
			show("state file "+fs.File, fs.Local, fs.LocalErr)
			if fs.Destination != "" {
				show(fmt.Sprintf("committed in destination %s (the authority)", fs.Destination), fs.Committed, fs.DestErr)
			}
			if fs.LocalErr != nil || fs.DestErr != nil {
				return fmt.Errorf("the state of flow %s could not be read", f.Name)
			}
			return nil
		},
	})
	var yes bool
	reset := &cobra.Command{
		Use:   "reset FILE [FLOW...]",
		Short: "Forget the stored cursors of the named flows (all when none is named)",
		Long: "reset removes each flow's state file and, when its destination stores state with its commits, the\n" +
			"copy there, so the flow's next run reads from the start. On a terminal it asks first (--yes skips the\n" +
			"question); otherwise it does not ask. It prints what it removed.",
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			e, err := a.engine(argv[0])
			if err != nil {
				return err
			}
			defer e.Close()
			flows, err := a.flows(e, argv[1:])
			if err != nil {
				return err
			}
			if !yes && a.stdinIsTerminal() {
				names := make([]string, len(flows))
				for i, f := range flows {
					names[i] = f.Name
				}
				fmt.Fprintf(a.stderr, "Reset the stored state of %s (%s)? Their next run reads from the start. [y/N] ", plural(len(flows), "flow"), strings.Join(names, ", "))
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return &usageError{fmt.Errorf("nothing was reset")}
				}
			}
			store, closeStore, err := openStore(cmd, e)
			if err != nil {
				return err
			}
			defer closeStore()
			total := 0
			for _, f := range flows {
				removed, err := e.ResetState(cmd.Context(), store, f)
				for _, r := range removed {
					fmt.Fprintf(a.stdout, "flow %s: removed %s\n", f.Name, r)
				}
				total += len(removed)
				if err != nil {
					return fmt.Errorf("flow %s: %w", f.Name, err)
				}
			}
			if total == 0 {
				fmt.Fprintln(a.stdout, "no stored state to remove")
			}
			return nil
		},
	}
	reset.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.AddCommand(reset)
	return cmd
}

// flows returns the named flows of e's pipeline (all when names is
// empty); an unknown name is a usage error listing the flows.
func (a *app) flows(e *engine.Engine, names []string) ([]*config.Flow, error) {
	flows, err := e.SelectFlows(names)
	if err != nil {
		return nil, &usageError{err}
	}
	return flows, nil
}

// storedIn says where a flow's current state lives.
func storedIn(fs engine.FlowState) string {
	switch {
	case fs.DestErr != nil:
		return "destination " + fs.Destination + ": ERROR " + firstLine(fs.DestErr.Error())
	case fs.LocalErr != nil:
		return "ERROR " + firstLine(fs.LocalErr.Error())
	case fs.Committed != nil:
		return "destination " + fs.Destination
	case fs.Local != nil:
		return fs.File
	}
	return "-"
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// stdinIsTerminal reports whether the host's standard input is a
// terminal (a person who can answer a question).
func (a *app) stdinIsTerminal() bool {
	return isatty.IsTerminal(os.Stdin.Fd())
}

// stateWhere says where a state backend keeps state: the state directory,
// or the table of the job database.
func stateWhere(b state.Backend) string {
	switch s := b.(type) {
	case state.Store:
		return s.Dir
	case interface{ Table() string }:
		return "table " + s.Table()
	}
	return ""
}
