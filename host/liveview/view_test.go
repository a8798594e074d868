package liveview_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/sqlflow/sqlflow-host/host/liveview"
)

// fakeTerm is a terminal of a fixed size that keeps every frame written.
type fakeTerm struct {
	width  int
	frames chan string
}

func (t *fakeTerm) Size() (int, int) { return t.width, 40 }

func (t *fakeTerm) Write(p []byte) (int, error) {
	t.frames <- string(p)
	return len(p), nil
}

// fakeRun is the state of four concurrent flows, changed by the test.
type fakeRun struct {
	mu    sync.Mutex
	flows []liveview.Flow
}

func (r *fakeRun) source() []liveview.Flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]liveview.Flow(nil), r.flows...)
}

func (r *fakeRun) advance(rows int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.flows {
		r.flows[i].Rows += rows
		r.flows[i].Bytes += rows * 97
	}
}

var t0 = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

func fourFlows() *fakeRun {
	return &fakeRun{flows: []liveview.Flow{
		{Name: "orders_api_to_warehouse", Phase: "retrying", Rows: 120_000, Bytes: 11 << 20, Started: t0, Retries: 2},
		{Name: "shop_customers", Phase: "rate-limited", Rows: 4_500, Bytes: 900 << 10, Started: t0, RateLimitWait: 12500 * time.Millisecond},
		{Name: "items_pq", Phase: "committing", Rows: 38_701_000, Bytes: 3 << 30, Started: t0, Restarts: 1},
		{Name: "items_pg", Phase: "reading", Rows: 1_000_000, Bytes: 96 << 20, Started: t0, TotalRows: 4_000_000},
		{Name: "queued_flow", Phase: "queued"}, // not started: not shown
	}}
}

var clearRE = regexp.MustCompile(`^\x1b\[(\d+)A\x1b\[J`)

// TestTerminalFramesStable drives the terminal view with a fake terminal
// 80 and 200 columns wide and four concurrent flows (retrying,
// rate-limited, committing, reading) and fake time: every frame clears
// exactly the previous frame's lines, holds one line per running flow,
// no line is wider than the terminal, and log lines print above the
// flows' lines.
func TestTerminalFramesStable(t *testing.T) {
	for _, width := range []int{80, 200} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			term := &fakeTerm{width: width, frames: make(chan string, 16)}
			run := fourFlows()
			tick := make(chan time.Time)
			now := t0
			var nowMu sync.Mutex
			v := liveview.NewTerminal(term, run.source, liveview.Options{Tick: tick, Now: func() time.Time {
				nowMu.Lock()
				defer nowMu.Unlock()
				return now
			}})
			defer v.Stop()
			step := func() {
				nowMu.Lock()
				now = now.Add(time.Second)
				nowMu.Unlock()
				tick <- now
			}
			logLine := "2026-12-07T06:00:03.000Z [WARN]  sqlflow-host: Retrying operation 'read' (attempt 2/5) after error: connection reset by peer; a long message that is wider than any terminal it is shown on, " + strings.Repeat("x", 150)

			prevLines := 0
			for i := range 6 {
				if i == 2 || i == 4 {
					if _, err := fmt.Fprintln(v, logLine); err != nil {
						t.Fatal(err)
					}
				}
				run.advance(10_000)
				step()
				frame := <-term.frames
				if i > 0 {
					m := clearRE.FindStringSubmatch(frame)
					if m == nil || m[1] != fmt.Sprint(prevLines) {
						t.Fatalf("frame %d does not begin by clearing the %d lines of the previous one: %q", i, prevLines, frame)
					}
					frame = frame[len(m[0]):]
				}
				if !strings.HasSuffix(frame, "\n") {
					t.Fatalf("frame %d does not end with a newline: %q", i, frame)
				}
				lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
				wantLog := i == 2 || i == 4
				if wantLog {
					if lines[0] != logLine {
						t.Fatalf("frame %d: the log line is not above the view:\n%s", i, frame)
					}
					lines = lines[1:]
				}
				if len(lines) != 4 {
					t.Fatalf("frame %d has %d view lines, want 4:\n%s", i, len(lines), frame)
				}
				for _, l := range lines {
					if w := runewidth.StringWidth(l); w > width {
						t.Errorf("frame %d: a line is %d cells wide on a %d-column terminal: %q", i, w, width, l)
					}
					if strings.Contains(l, "WARN") {
						t.Errorf("frame %d: a log line is inside the view: %q", i, l)
					}
				}
				for k, phase := range []string{"retrying", "rate-limited", "committing", "reading"} {
					if !strings.Contains(lines[k], phase) {
						t.Errorf("frame %d line %d lacks its phase %q: %q", i, k, phase, lines[k])
					}
				}
				if width == 200 && !strings.Contains(lines[3], "ETA ") {
					t.Errorf("frame %d: the flow with a size estimate shows no ETA at 200 columns: %q", i, lines[3])
				}
				for _, l := range lines[:3] {
					if strings.Contains(l, "ETA") {
						t.Errorf("frame %d: a flow without a size estimate shows an ETA: %q", i, l)
					}
				}
				if !strings.Contains(lines[0], "rows/s") {
					t.Errorf("frame %d: no rate at %d columns: %q", i, width, lines[0])
				}
				prevLines = len(lines)
				if i == 5 {
					t.Logf("frame at %d columns:\n%s", width, strings.Join(lines, "\n"))
				}
			}
			// Stop clears the view and prints the log lines not drawn yet.
			fmt.Fprintln(v, "last log line")
			v.Stop()
			last := <-term.frames
			if want := fmt.Sprintf("\x1b[%dA\x1b[Jlast log line\n", prevLines); last != want {
				t.Fatalf("stop wrote %q, want %q", last, want)
			}
			fmt.Fprintln(v, "after stop")
			if got := <-term.frames; got != "after stop\n" {
				t.Fatalf("a log line after stop: %q", got)
			}
		})
	}
}

// TestPlainLines: off a terminal, each tick writes one plain line per
// running flow, and log lines pass straight through.
func TestPlainLines(t *testing.T) {
	var out syncBuffer
	out.wrote = make(chan struct{}, 4)
	run := fourFlows()
	tick := make(chan time.Time)
	now := t0.Add(10 * time.Second)
	v := liveview.NewPlain(&out, run.source, liveview.Options{Tick: tick, Now: func() time.Time { return now }})
	tick <- now
	<-out.wrote
	v.Stop()
	fmt.Fprintln(v, "a log line")
	got := out.String()
	want := "flow orders_api_to_warehouse: retrying, 120,000 rows, 11.0 MiB, 12,000 rows/s, 2 retries\n" +
		"flow shop_customers: rate-limited, 4,500 rows, 900.0 KiB, 450 rows/s, waited 12.5s\n" +
		"flow items_pq: committing, 38,701,000 rows, 3.0 GiB, 3,870,100 rows/s, 1 restart\n" +
		"flow items_pg: reading, 1,000,000 rows, 96.0 MiB, 100,000 rows/s, ETA 0:30\n" +
		"a log line\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

type syncBuffer struct {
	mu    sync.Mutex
	b     strings.Builder
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLinesFit: the columns that do not fit are left out whole, from the
// right, and a very narrow terminal cuts lines with an ellipsis.
func TestLinesFit(t *testing.T) {
	flows := fourFlows().flows
	now := t0.Add(10 * time.Second)
	tests := []struct {
		name     string
		width    int
		has, not []string
	}{
		{name: "wide", width: 200, has: []string{"rows/s", "ETA 0:30", "2 retries", "waited 12.5s"}},
		{name: "80 columns", width: 80, has: []string{"rows", "rows/s", "MiB"}, not: []string{"waited"}},
		{name: "narrow", width: 20, has: []string{"…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := liveview.Lines(flows, now, tt.width)
			if len(lines) != 4 {
				t.Fatalf("%d lines, want 4 (a queued flow is not shown)", len(lines))
			}
			all := strings.Join(lines, "\n")
			for _, l := range lines {
				if w := runewidth.StringWidth(l); w > tt.width {
					t.Errorf("line of %d cells at width %d: %q", w, tt.width, l)
				}
			}
			for _, s := range tt.has {
				if !strings.Contains(all, s) {
					t.Errorf("no %q in\n%s", s, all)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(all, s) {
					t.Errorf("%q in\n%s", s, all)
				}
			}
		})
	}
}

// TestEndedFlowLeavesItsLine: a flow that ends leaves its final line
// above the view, where the next frames do not clear it, and the view
// keeps one line per running flow.
func TestEndedFlowLeavesItsLine(t *testing.T) {
	term := &fakeTerm{width: 80, frames: make(chan string, 16)}
	run := &fakeRun{flows: []liveview.Flow{
		{Name: "a", Phase: "reading", Rows: 10, Bytes: 1, Started: t0},
		{Name: "b", Phase: "reading", Rows: 20, Bytes: 2, Started: t0},
	}}
	tick := make(chan time.Time)
	now := t0.Add(10 * time.Second)
	v := liveview.NewTerminal(term, run.source, liveview.Options{Tick: tick, Now: func() time.Time { return now }})
	defer v.Stop()
	var frames []string
	for i := range 4 {
		if i == 1 {
			run.mu.Lock()
			run.flows[0].Ended, run.flows[0].Phase = true, "done"
			run.mu.Unlock()
		}
		tick <- now
		frames = append(frames, <-term.frames)
	}
	a := "flow a: done, 10 rows, 1 B, 1 rows/s\n"
	b := "b  reading          20 rows        2 B      2 rows/s\n"
	want := []string{
		"a  reading          10 rows        1 B      1 rows/s\n" + b,
		"\x1b[2A\x1b[J" + a + b, // a ends: its final line
		"\x1b[2A\x1b[J" + a + b, // popped above the view
		"\x1b[1A\x1b[J" + b,     // and left there
	}
	for i := range want {
		if frames[i] != want[i] {
			t.Fatalf("frame %d:\n%q\nwant\n%q", i, frames[i], want[i])
		}
	}
}
