package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/vbauerster/cupwriter"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/host/liveview"
)

// progressFlags are run's --progress and --progress-interval.
type progressFlags struct {
	mode     string
	interval time.Duration
}

func (p *progressFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.mode, "progress", "auto",
		"how run shows its flows while they run: tty (one line per running flow, redrawn in place on stderr, log lines above), plain (one line per running flow every --progress-interval), none, or auto (tty when stderr is a terminal, else plain)")
	fs.DurationVar(&p.interval, "progress-interval", liveview.DefaultPlainInterval, "how often --progress plain writes its lines")
}

// check refuses a bad --progress or --progress-interval.
func (p *progressFlags) check() error {
	switch p.mode {
	case "auto", "tty", "plain", "none":
	default:
		return &usageError{fmt.Errorf("--progress %q: use auto, tty, plain or none", p.mode)}
	}
	if p.interval <= 0 {
		return &usageError{fmt.Errorf("--progress-interval %s: must be positive", p.interval)}
	}
	return nil
}

// startProgress starts the live view of flows that --progress asks for
// and routes the log through it while it runs. The returned stop (safe to
// call more than once) stops it and gives the log its output back.
func (a *app) startProgress(e *engine.Engine, flows []*config.Flow, pf progressFlags) (stop func()) {
	mode := pf.mode
	if mode == "auto" {
		mode = "plain"
		if a.isTerminal() && os.Getenv("TERM") != "dumb" {
			mode = "tty"
		}
	}
	src := func() []liveview.Flow {
		out := make([]liveview.Flow, len(flows))
		for i, f := range flows {
			out[i] = viewFlow(e.FlowLive(f.Name))
		}
		return out
	}
	var v *liveview.View
	switch mode {
	case "tty":
		v = liveview.NewTerminal(&terminal{Writer: a.stderr, size: a.termSize}, src, liveview.Options{})
	case "plain":
		v = liveview.NewPlain(a.stderr, src, liveview.Options{Interval: pf.interval})
	default:
		return func() {}
	}
	a.logOut.set(v)
	var once sync.Once
	return func() {
		once.Do(func() {
			a.logOut.set(a.stderr)
			v.Stop()
		})
	}
}

// viewFlow is what the live view shows of a flow: its live state, with
// the source's estimate of the rows it reads as TotalRows (the ETA; none
// when the estimate is 0, as for an incremental flow reading past its
// cursor).
func viewFlow(fl engine.FlowLive) liveview.Flow {
	return liveview.Flow{Name: fl.Flow, Phase: string(fl.Phase), Rows: fl.Rows, Bytes: fl.Bytes,
		Started: fl.Started, Ended: fl.Ended, TotalRows: fl.EstimatedRows, Retries: fl.Resilience.Retries,
		Restarts: fl.Resilience.Restarts, RateLimitWait: fl.Resilience.RateLimitWait}
}

// terminal is a liveview.Terminal: stderr (through the redactor) and the
// size of the terminal it is.
type terminal struct {
	io.Writer
	size func() (int, int)
}

func (t *terminal) Size() (int, int) { return t.size() }

// termSize returns the size of the terminal stderr is, or 0, 0.
func (a *app) termSize() (int, int) {
	f, ok := a.term.(*os.File)
	if !ok {
		return 0, 0
	}
	cw := cupwriter.New(io.Discard, false)
	cw.SetTermFd(int(f.Fd()))
	if !cw.IsTerminal() {
		return 0, 0
	}
	w, h, err := cw.GetTermSize()
	if err != nil {
		return 0, 0
	}
	return w, h
}

// switchWriter is the log's output: stderr, or the live view while one
// runs, so that log lines print above the view and never inside it.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
