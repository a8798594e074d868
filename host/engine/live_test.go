package engine

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// TestFlowLivePhases walks one flow through the phases the engine and the
// paging loop report (the resilience waits, which take precedence, are
// tested with the counters in host/resilience).
func TestFlowLivePhases(t *testing.T) {
	e := &Engine{}
	steps := []struct {
		name string
		do   func()
		want Phase
	}{
		{"before it starts", func() {}, PhaseQueued},
		{"slot taken", func() { e.flowStarted("f") }, PhaseStarting},
		{"paging", func() {
			e.liveProgress(pipeline.Progress{Flow: "f", Phase: pipeline.PhaseReading, Rows: 10, Bytes: 100, Pages: 1})
		}, PhaseReading},
		{"commit", func() {
			e.liveProgress(pipeline.Progress{Flow: "f", Phase: pipeline.PhaseCommitting, Rows: 10, Bytes: 100, Pages: 1})
		}, PhaseCommitting},
		{"failed", func() { e.flowEnded("f", errors.New("x")) }, PhaseFailed},
	}
	for _, s := range steps {
		s.do()
		fl := e.FlowLive("f")
		if fl.Phase != s.want {
			t.Fatalf("%s: phase %q, want %q", s.name, fl.Phase, s.want)
		}
		if s.want == PhaseCommitting && (fl.Rows != 10 || fl.Bytes != 100 || fl.Started.IsZero()) {
			t.Fatalf("%s: %+v", s.name, fl)
		}
	}
	if fl := e.FlowLive("f"); !fl.Ended {
		t.Fatalf("an ended flow: %+v", fl)
	}
}

// TestFlowLiveEstimatedRows: the stream's estimate reaches FlowLive when
// the run reads the whole stream, and not for an incremental flow that
// resumes after a stored cursor.
func TestFlowLiveEstimatedRows(t *testing.T) {
	s := sdk.Stream{Name: "s", EstimatedRows: 5000}
	for _, tt := range []struct {
		name        string
		stream      sdk.Stream
		incremental bool
		cursor      json.RawMessage
		want        int64
	}{
		{"full copy", s, false, nil, 5000},
		{"incremental, first run or full refresh", s, true, nil, 5000},
		{"incremental after a cursor", s, true, json.RawMessage(`42`), 0},
		{"unknown", sdk.Stream{Name: "s"}, false, nil, 0},
		{"negative", sdk.Stream{Name: "s", EstimatedRows: -1}, false, nil, 0},
	} {
		e := &Engine{}
		if fl := e.FlowLive("f"); fl.EstimatedRows != 0 {
			t.Fatalf("%s: before the flow started: %+v", tt.name, fl)
		}
		e.flowStarted("f")
		e.flowEstimated("f", runEstimate(tt.stream, tt.incremental, tt.cursor))
		e.liveProgress(pipeline.Progress{Flow: "f", Phase: pipeline.PhaseReading, Rows: 10, Bytes: 100, Pages: 1})
		if fl := e.FlowLive("f"); fl.EstimatedRows != tt.want || fl.Rows != 10 {
			t.Errorf("%s: FlowLive = %+v, want EstimatedRows %d", tt.name, fl, tt.want)
		}
	}
}
