// Package liveview shows the flows of a run while they run. On a terminal
// it keeps one line per running flow at the bottom of the screen, redrawn
// in place (with github.com/vbauerster/mpb/v8) and fitted to the
// terminal's width, while log lines written through the view's Writer
// print above it, never inside it. A flow that ends leaves its last line
// (its plain line, see Plain) above the view. Off a terminal it writes
// one plain line per running flow every interval.
//
// # Time
//
// The view redraws on every value of Options.Tick (a time.Ticker of
// Options.Interval when nil) and reads the time from Options.Now, so
// tests drive it without waiting.
//
// # ETA
//
// A flow's ETA is shown only when Flow.TotalRows says how many rows the
// source expects. The host fills it from the stream's estimate in the
// connector protocol (sdk.Stream.EstimatedRows, from Discover; see
// engine.FlowLive.EstimatedRows); a source that cannot estimate, or an
// incremental flow reading past its cursor, leaves it zero and no ETA is
// shown.
package liveview

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Terminal is where a terminal view draws.
type Terminal interface {
	// Write writes to the terminal. The view writes each frame in one
	// call: the escape sequence clearing the previous frame, the log lines
	// written since, and the flows' lines.
	io.Writer
	// Size returns the terminal's width and height in cells.
	Size() (width, height int)
}

// Options tune a view.
type Options struct {
	// Interval is the time between two redraws (terminal) or two reports
	// (plain). Zero means 250 ms on a terminal and 10 s off one.
	Interval time.Duration
	// Tick, when set, replaces the ticker of Interval: the view redraws on
	// every value received.
	Tick <-chan time.Time
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

// Source returns the flows of the run, in the order to show them. It is
// called once per redraw, from the view's goroutine.
type Source func() []Flow

// View is a running live view. Stop it when the run is over.
type View struct {
	mu      sync.Mutex // held while drawing, writing a log line, stopping
	src     Source
	now     func() time.Time
	stopped bool
	quit    chan struct{}
	done    chan struct{}
	ticker  *time.Ticker

	// plain view
	plain io.Writer

	// terminal view
	term    Terminal
	cw      *console
	prog    *mpb.Progress
	refresh chan any
	down    chan any // closed when mpb shut down
	bars    map[string]*mpb.Bar
	lineMu  sync.Mutex
	lines   map[string]string // each bar's current line
	final   map[string]string // the last line of each flow that ended
}

func (o Options) ticks(def time.Duration) (<-chan time.Time, *time.Ticker) {
	if o.Tick != nil {
		return o.Tick, nil
	}
	d := o.Interval
	if d <= 0 {
		d = def
	}
	t := time.NewTicker(d)
	return t.C, t
}

func newView(src Source, opts Options) *View {
	v := &View{src: src, now: opts.Now, quit: make(chan struct{}), done: make(chan struct{})}
	if v.now == nil {
		v.now = time.Now
	}
	return v
}

// DefaultTerminalInterval and DefaultPlainInterval are the intervals a zero
// Options.Interval means: a terminal redraws four times a second; a log
// file gets one line per flow every ten seconds, a pace that keeps a long
// run's log readable.
const (
	DefaultTerminalInterval = 250 * time.Millisecond
	DefaultPlainInterval    = 10 * time.Second
)

// NewTerminal starts a view drawing on term.
func NewTerminal(term Terminal, src Source, opts Options) *View {
	v := newView(src, opts)
	v.term = term
	v.cw = &console{term: term}
	v.refresh = make(chan any)
	v.bars = map[string]*mpb.Bar{}
	v.lines = map[string]string{}
	v.final = map[string]string{}
	v.down = make(chan any)
	v.prog = mpb.New(mpb.WithConsoleWriter(v.cw), mpb.WithManualRefresh(v.refresh),
		mpb.WithShutdownNotifier(v.down), mpb.PopCompletedMode())
	tick, t := opts.ticks(DefaultTerminalInterval)
	v.ticker = t
	go v.loop(tick, v.draw)
	return v
}

// NewPlain starts a view writing plain lines to w.
func NewPlain(w io.Writer, src Source, opts Options) *View {
	v := newView(src, opts)
	v.plain = w
	tick, t := opts.ticks(DefaultPlainInterval)
	v.ticker = t
	go v.loop(tick, v.report)
	return v
}

func (v *View) loop(tick <-chan time.Time, f func()) {
	defer close(v.done)
	for {
		select {
		case <-v.quit:
			return
		case <-tick:
		}
		v.mu.Lock()
		if !v.stopped {
			f()
		}
		v.mu.Unlock()
	}
}

// report writes a plain line per shown flow; v.mu is held.
func (v *View) report() {
	now := v.now()
	var b bytes.Buffer
	for _, f := range v.src() {
		if f.shown() {
			b.WriteString(Plain(f, now) + "\n")
		}
	}
	if b.Len() > 0 {
		_, _ = v.plain.Write(b.Bytes())
	}
}

// draw redraws the terminal view; v.mu is held.
func (v *View) draw() {
	flows := v.src()
	width, _, _ := v.cw.GetTermSize()
	lines := Lines(flows, v.now(), width)
	next := map[string]string{}
	var order []string
	i := 0
	for _, f := range flows {
		if f.shown() {
			next[f.Name] = lines[i]
			order = append(order, f.Name)
			i++
		}
	}
	v.lineMu.Lock()
	v.lines = next
	v.lineMu.Unlock()
	// A flow that ended leaves its last line above the view: its bar
	// shows the flow's final state, then mpb pops it (PopCompletedMode).
	for name, b := range v.bars {
		if _, ok := next[name]; ok {
			continue
		}
		for _, f := range flows {
			if f.Name == name {
				v.lineMu.Lock()
				v.final[name] = runewidth.Truncate(Plain(f, v.now()), width, "…")
				v.lineMu.Unlock()
			}
		}
		b.Abort(false)
		delete(v.bars, name)
	}
	for _, name := range order {
		if _, ok := v.bars[name]; ok {
			continue
		}
		bar, err := v.prog.Add(0, mpb.NopStyle().Build(), mpb.BarFillerTrim(),
			mpb.PrependDecorators(decor.Any(v.lineOf(name))))
		if err != nil {
			continue
		}
		v.bars[name] = bar
	}
	select {
	case v.refresh <- v.now():
	case <-v.down: // a failed draw stopped mpb
	}
}

// lineOf returns the decorator function drawing flow name's line.
func (v *View) lineOf(name string) decor.DecorFunc {
	return func(decor.Statistics) string {
		v.lineMu.Lock()
		defer v.lineMu.Unlock()
		if l, ok := v.final[name]; ok {
			return l
		}
		return v.lines[name]
	}
}

// Write prints p above the view (p should be whole lines): on a terminal
// it shows at the next redraw, off one at once. After Stop it goes
// straight to the output.
func (v *View) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case v.plain != nil:
		return v.plain.Write(p)
	case v.stopped:
		return v.term.Write(p)
	}
	if n, err := v.prog.Write(p); err == nil {
		return n, nil
	}
	return v.term.Write(p) // mpb stopped after a failed draw
}

// Stop stops the view: on a terminal it clears the flows' lines and
// prints the log lines not shown yet. Stop may be called more than once.
func (v *View) Stop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stopped {
		return
	}
	v.stopped = true
	close(v.quit)
	if v.ticker != nil {
		v.ticker.Stop()
	}
	if v.prog != nil {
		v.prog.Shutdown()
		// What is left in the buffer: the escape clearing the last frame,
		// and the log lines written since it.
		_ = v.cw.Flush(0)
	}
}

// console is the mpb.ConsoleWriter of a Terminal: it buffers a frame and
// writes it in one call, clearing the previous frame first.
type console struct {
	bytes.Buffer
	term Terminal
}

// IsTerminal is always true: a console draws on a terminal.
func (c *console) IsTerminal() bool { return true }

// GetTermSize returns the terminal's size, one column narrower than it
// is: a line that fills the last column makes some terminals wrap.
func (c *console) GetTermSize() (int, int, error) {
	w, h := c.term.Size()
	if w <= 0 {
		w = 80
	}
	if h <= 0 {
		h = 24
	}
	return max(w-1, 1), h, nil
}

// Flush writes the frame, and begins the next one with the escape that
// moves the cursor up lines lines and clears the screen below it.
func (c *console) Flush(lines int) error {
	if c.Len() > 0 {
		if _, err := c.term.Write(c.Bytes()); err != nil {
			c.Reset()
			return fmt.Errorf("draw the live view: %w", err)
		}
	}
	c.Reset()
	if lines > 0 {
		fmt.Fprintf(&c.Buffer, "\x1b[%dA\x1b[J", lines)
	}
	return nil
}
