package engine

import (
	"errors"
	"testing"

	"github.com/sqlflow/sqlflow-host/host/pipeline"
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
