package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sqlflow/sqlflow-host/host/config"
)

// Kind is the River job kind of a flow run.
const Kind = "sqlflow_flow"

// Queue is the River queue flow runs go to.
const Queue = "sqlflow"

// FlowArgs are a flow run's job arguments. They hold the pipeline file as
// it was when submitted, so a file changed afterwards does not change the
// job; ${VAR} references in it are expanded by the worker from its own
// environment, so no secret is stored in the queue.
type FlowArgs struct {
	// Pipeline is the pipeline's name; with Flow, the job's unique key.
	Pipeline string `json:"pipeline" river:"unique"`
	// Flow is the flow to run.
	Flow string `json:"flow" river:"unique"`
	// File is the pipeline file's absolute path when submitted: relative
	// paths in it are relative to its directory, on every worker.
	File string `json:"file"`
	// Source is the file's contents (YAML) when submitted.
	Source string `json:"source"`
	// SubmittedFrom is the host name of the machine that submitted it.
	SubmittedFrom string `json:"submitted_from,omitempty"`
	// Tick is the schedule tick that enqueued it (RFC 3339), if any.
	Tick string `json:"tick,omitempty"`
}

// Kind is the River job kind.
func (FlowArgs) Kind() string { return Kind }

// InsertOpts make a flow's job unique per pipeline and flow while it waits
// or runs (or waits for a retry): a second submit of the same flow is
// skipped, and two runs of one flow never overlap.
func (FlowArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue: Queue,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
				rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		},
	}
}

// Pipeline decodes the submitted file, expanding ${VAR} from env.
func (a FlowArgs) decode(env func(string) (string, bool)) (*config.Pipeline, error) {
	return config.Parse(a.File, []byte(a.Source), env)
}

// NewArgs returns the job arguments of each named flow of the pipeline
// file at path (every flow when names is empty), reading the file once.
// An unknown flow name is an error listing the flows.
func NewArgs(path string, names []string) ([]FlowArgs, *config.Pipeline, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, nil, config.ErrorList{{Pos: config.Position{File: path}, Msg: "cannot read the pipeline file: " + err.Error(), Err: err}}
	}
	p, err := config.Parse(abs, data, os.LookupEnv)
	if err != nil {
		return nil, p, err
	}
	flows := p.Flows
	if len(names) > 0 {
		byName := map[string]*config.Flow{}
		var all []string
		for _, f := range p.Flows {
			byName[f.Name] = f
			all = append(all, f.Name)
		}
		flows = nil
		for _, n := range names {
			f, ok := byName[n]
			if !ok {
				return nil, p, fmt.Errorf("%s has no flow %q%s; its flows are %v", path, n, config.Suggest(n, all), all)
			}
			flows = append(flows, f)
		}
	}
	host, _ := os.Hostname()
	out := make([]FlowArgs, len(flows))
	for i, f := range flows {
		out[i] = FlowArgs{Pipeline: p.Name, Flow: f.Name, File: abs, Source: string(data), SubmittedFrom: host}
	}
	return out, p, nil
}

// Submitted is the outcome of submitting one flow.
type Submitted struct {
	Pipeline, Flow string
	// JobID is the job's id: the new job's, or the one already queued.
	JobID int64
	// Duplicate is true when the flow already had a job waiting or running
	// (that job's id is JobID).
	Duplicate bool
}

// Submit enqueues one job per args, in one transaction.
func (db *DB) Submit(ctx context.Context, args []FlowArgs) ([]Submitted, error) {
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	res, err := db.Client.InsertMany(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("enqueue %d flows: %w", len(args), err)
	}
	out := make([]Submitted, len(res))
	for i, r := range res {
		out[i] = Submitted{Pipeline: args[i].Pipeline, Flow: args[i].Flow, JobID: r.Job.ID, Duplicate: r.UniqueSkippedAsDuplicate}
	}
	return out, nil
}
