package engine

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/host/resilience"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// Phase is what a flow of a run does now, for a live view.
type Phase string

// The phases of a flow. A flow whose call waits on a plugin's restart, a
// rate limit or a retry's backoff is in that phase (in that order of
// precedence) whatever its paging loop does.
const (
	// PhaseQueued: waiting for a --concurrency slot (or not selected).
	PhaseQueued Phase = "queued"
	// PhaseStarting: starting its connectors and checking the flow.
	PhaseStarting Phase = "starting"
	// PhaseReading: reading pages and writing them to the staging area.
	PhaseReading = Phase(pipeline.PhaseReading)
	// PhaseCommitting: the destination makes the write visible.
	PhaseCommitting = Phase(pipeline.PhaseCommitting)
	// PhaseAborting: the flow failed; the destination drops its staging.
	PhaseAborting = Phase(pipeline.PhaseAborting)
	// PhaseRetrying: a call waits out its backoff before a retry.
	PhaseRetrying Phase = "retrying"
	// PhaseRateLimited: a call waits on a rate limit.
	PhaseRateLimited Phase = "rate-limited"
	// PhaseRestarting: a call waits for its plugin's restart.
	PhaseRestarting Phase = "restarting plugin"
	// PhaseDone and PhaseFailed: the flow finished.
	PhaseDone   Phase = "done"
	PhaseFailed Phase = "failed"
)

// FlowLive is a running flow's state: what a live view shows.
type FlowLive struct {
	Flow  string
	Phase Phase
	// Rows, Bytes and Pages moved so far.
	Rows, Bytes, Pages int64
	// EstimatedRows is the source's estimate of the rows this run of the
	// flow reads (sdk.Stream.EstimatedRows, from Discover): 0 when the
	// source cannot tell, before the flow discovered its stream, and for
	// an incremental flow that reads only what is new since its stored
	// cursor (the estimate is of the whole stream). Only for progress: it
	// may be off.
	EstimatedRows int64
	// Started is when the flow took its concurrency slot; zero while
	// queued.
	Started time.Time
	// Ended is true once the flow finished (Phase is then PhaseDone or
	// PhaseFailed).
	Ended bool
	// Resilience is what the policies did for the flow's calls so far.
	Resilience resilience.Stats
}

// liveFlows keeps each flow's FlowLive while the run lasts.
type liveFlows struct {
	mu sync.Mutex
	m  map[string]*FlowLive
}

func (l *liveFlows) update(flow string, f func(*FlowLive)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*FlowLive{}
	}
	fl, ok := l.m[flow]
	if !ok {
		fl = &FlowLive{Flow: flow, Phase: PhaseQueued}
		l.m[flow] = fl
	}
	f(fl)
}

func (l *liveFlows) get(flow string) FlowLive {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fl, ok := l.m[flow]; ok {
		return *fl
	}
	return FlowLive{Flow: flow, Phase: PhaseQueued}
}

// FlowLive returns what flow does now: its phase, what it moved and what
// the resilience policies did for it. A flow that has not started is
// PhaseQueued. Safe to call while the flows run (the CLI's live view
// does, several times a second).
func (e *Engine) FlowLive(flow string) FlowLive {
	fl := e.live.get(flow)
	fl.Resilience = e.FlowStats(flow)
	if fl.Ended || fl.Started.IsZero() {
		return fl
	}
	switch s := fl.Resilience; {
	case s.Recovering > 0:
		fl.Phase = PhaseRestarting
	case s.Waiting > 0:
		fl.Phase = PhaseRateLimited
	case s.Backoff > 0:
		fl.Phase = PhaseRetrying
	}
	return fl
}

// flowStarted records that flow took its concurrency slot.
func (e *Engine) flowStarted(flow string) {
	e.live.update(flow, func(fl *FlowLive) {
		fl.Started, fl.Phase = time.Now(), PhaseStarting
	})
}

// flowEnded records that flow finished.
func (e *Engine) flowEnded(flow string, err error) {
	e.live.update(flow, func(fl *FlowLive) {
		fl.Ended, fl.Phase = true, PhaseDone
		if err != nil {
			fl.Phase = PhaseFailed
		}
	})
}

// flowEstimated records the estimate of the rows flow reads this run.
func (e *Engine) flowEstimated(flow string, rows int64) {
	e.live.update(flow, func(fl *FlowLive) {
		fl.EstimatedRows = max(rows, 0)
	})
}

// runEstimate is the estimate of the rows a run of a flow reads from
// stream: the stream's estimate when the run reads the whole stream (a
// flow that is not incremental, or an incremental one without a stored
// cursor: its first run or a full refresh), else 0 (unknown), since only
// the rows past the cursor are read.
func runEstimate(stream sdk.Stream, incremental bool, cursor json.RawMessage) int64 {
	if incremental && len(cursor) > 0 {
		return 0
	}
	return max(stream.EstimatedRows, 0)
}

// liveProgress records a progress report of the paging loop.
func (e *Engine) liveProgress(p pipeline.Progress) {
	e.live.update(p.Flow, func(fl *FlowLive) {
		fl.Rows, fl.Bytes, fl.Pages = p.Rows, p.Bytes, p.Pages
		if p.Phase != "" {
			fl.Phase = Phase(p.Phase)
		}
	})
}
