package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/liveview"
)

func TestLogLevel(t *testing.T) {
	tests := []struct {
		name    string
		flag    string
		flagSet bool
		env     string
		want    hclog.Level
		err     string
	}{
		{name: "default", flag: "info", want: hclog.Info},
		{name: "env when no flag", flag: "info", env: "debug", want: hclog.Debug},
		{name: "flag wins over env", flag: "warn", flagSet: true, env: "debug", want: hclog.Warn},
		{name: "env in capitals", flag: "info", env: "ERROR", want: hclog.Error},
		{name: "off", flag: "off", flagSet: true, want: hclog.Off},
		{name: "bad env", flag: "info", env: "loud", err: `SQLFLOW_LOG_LEVEL "loud": use trace, debug, info, warn, error or off`},
		{name: "bad flag, env ignored", flag: "loud", flagSet: true, env: "debug", err: `--log-level "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "SQLFLOW_LOG_LEVEL" {
					return tt.env
				}
				return ""
			}
			got, err := logLevel(tt.flag, tt.flagSet, getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestLogLevelFromEnvironment(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", twoFlowPipeline)
	t.Setenv("SQLFLOW_LOG_LEVEL", "debug")
	r := cli(t, "validate", p)
	expect(t, r, 0, "[DEBUG]")
	r = cli(t, "--log-level", "warn", "validate", p)
	if strings.Contains(r.stderr, "[DEBUG]") || strings.Contains(r.stderr, "[INFO]") {
		t.Fatalf("--log-level warn should win over SQLFLOW_LOG_LEVEL=debug:\n%s", r)
	}
	t.Setenv("SQLFLOW_LOG_LEVEL", "loud")
	expect(t, cli(t, "validate", p), 2, `SQLFLOW_LOG_LEVEL "loud"`)
}

const twoFlowPipeline = `version: 1
sources:
  a: {type: memory, rows: [{id: 1}, {id: 2}, {id: 3}]}
destinations:
  b: {type: memory}
flows:
  - {name: one, from: a, to: b, target: t1}
  - {name: two, from: a, to: b, target: t2}
`

func TestProgressFlags(t *testing.T) {
	p := write(t, t.TempDir(), "p.yaml", twoFlowPipeline)
	expect(t, cli(t, "run", "--progress", "fancy", p), 2, `--progress "fancy": use auto, tty, plain or none`)
	expect(t, cli(t, "run", "--progress-interval", "0s", p), 2, "--progress-interval 0s")
	for _, mode := range []string{"auto", "tty", "plain", "none"} {
		t.Run(mode, func(t *testing.T) {
			r := cli(t, "run", "--progress", mode, p)
			expect(t, r, 0, "FLOW", "one", "two")
			// Log lines come out whole, one per line, whatever the view.
			var committed int
			for _, line := range strings.Split(r.stderr, "\n") {
				if strings.Contains(line, "flow committed") {
					committed++
					if !strings.Contains(line, "[INFO]") || strings.Count(line, "[INFO]") != 1 {
						t.Fatalf("a log line is not whole: %q\n%s", line, r)
					}
				}
			}
			if committed != 2 {
				t.Fatalf("want 2 'flow committed' lines, got %d:\n%s", committed, r)
			}
			if mode != "tty" && strings.Contains(r.stderr, "\x1b[") {
				t.Fatalf("escape sequences off a terminal:\n%q", r.stderr)
			}
		})
	}
}

// TestViewFlowTotalRows: a flow's estimate (FlowLive.EstimatedRows) is the
// live view's TotalRows, so its line shows an ETA; without one it shows
// none.
func TestViewFlowTotalRows(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fl := engine.FlowLive{Flow: "orders", Phase: engine.PhaseReading, Rows: 1000, Bytes: 1 << 20, Started: t0, EstimatedRows: 4000}
	v := viewFlow(fl)
	if v.Name != "orders" || v.TotalRows != 4000 || v.Rows != 1000 || v.Phase != "reading" {
		t.Fatalf("viewFlow = %+v", v)
	}
	if line := liveview.Plain(v, t0.Add(10*time.Second)); !strings.Contains(line, "ETA 0:30") {
		t.Errorf("a flow with an estimate: %q, want ETA 0:30", line)
	}
	fl.EstimatedRows = 0
	if line := liveview.Plain(viewFlow(fl), t0.Add(10*time.Second)); strings.Contains(line, "ETA") {
		t.Errorf("a flow without an estimate shows an ETA: %q", line)
	}
}
