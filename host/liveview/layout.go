package liveview

import (
	"fmt"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"
)

// Flow is one flow's state as the view shows it. The view shows a flow
// from the time it Started until it Ended.
type Flow struct {
	// Name names the flow.
	Name string
	// Phase is what the flow does now, shown as it is ("reading",
	// "committing", "retrying", "rate-limited", "restarting plugin").
	Phase string
	// Rows and Bytes are what the flow moved so far.
	Rows, Bytes int64
	// Started is when the flow started; zero while it waits for its turn
	// (it is not shown then).
	Started time.Time
	// Ended is true once the flow finished (it is not shown any more).
	Ended bool
	// TotalRows is how many rows the source expects the flow to read (an
	// estimate); zero when it cannot tell, and then no ETA is shown.
	TotalRows int64
	// Retries, Restarts and RateLimitWait are what the resilience policies
	// did for the flow so far.
	Retries, Restarts int64
	RateLimitWait     time.Duration
}

// shown reports whether the view shows f.
func (f Flow) shown() bool { return !f.Started.IsZero() && !f.Ended }

// rate is f's average rows a second since it started.
func (f Flow) rate(now time.Time) float64 {
	d := now.Sub(f.Started)
	if d <= 0 {
		return 0
	}
	return float64(f.Rows) / d.Seconds()
}

// eta is the time left by f's average rate, or -1 when unknown.
func (f Flow) eta(now time.Time) time.Duration {
	r := f.rate(now)
	if f.TotalRows <= 0 || r <= 0 {
		return -1
	}
	left := max(f.TotalRows-f.Rows, 0)
	return time.Duration(float64(left) / r * float64(time.Second))
}

// column is one column of the view: a cell per flow.
type column struct {
	cells []string
	right bool // aligned right
	width int  // the widest cell
}

// maxNameWidth caps the name column (a third of the width on a narrower
// terminal); a longer name is cut with "…".
const maxNameWidth = 32

// Lines lays out the shown flows (those Started and not Ended, in the
// given order) as one line each, fitted to width display columns: the
// columns (name, phase, rows, bytes, rate, ETA, resilience counters)
// are aligned across the lines, the columns from the right that do not
// fit on every line are left out whole, and a line still too long (a
// very narrow terminal) is cut with "…". A line never exceeds width, so
// it never wraps.
func Lines(flows []Flow, now time.Time, width int) []string {
	var shown []Flow
	for _, f := range flows {
		if f.shown() {
			shown = append(shown, f)
		}
	}
	if len(shown) == 0 {
		return nil
	}
	cols := make([]column, 7)
	// Numbers take their widest form from the start, so the columns do
	// not move as they grow: "99.9M rows", "999.9 MiB", "99.9M rows/s".
	cols[2].width, cols[3].width, cols[4].width = 10, 9, 12
	// The phase column fits the usual phases ("rate-limited") from the
	// start too, so a flow going from reading to retrying moves nothing.
	cols[1].width = 12
	nameWidth := min(maxNameWidth, max(width/3, 12))
	for _, f := range shown {
		name := runewidth.Truncate(f.Name, nameWidth, "…")
		cols[0].cells = append(cols[0].cells, name)
		cols[1].cells = append(cols[1].cells, f.Phase)
		cols[2].cells = append(cols[2].cells, short(f.Rows)+" rows")
		cols[3].cells = append(cols[3].cells, Bytes(f.Bytes))
		cols[4].cells = append(cols[4].cells, short(int64(f.rate(now)))+" rows/s")
		eta := ""
		if d := f.eta(now); d >= 0 {
			eta = "ETA " + clock(d)
		}
		cols[5].cells = append(cols[5].cells, eta)
		cols[6].cells = append(cols[6].cells, counters(f))
	}
	for _, i := range []int{2, 3, 4} {
		cols[i].right = true
	}
	// Keep the columns that fit on every line, the most useful first
	// (name, phase, rows, rate, bytes, ETA, counters), shown in their
	// order; an empty column (no flow has an ETA) takes no room.
	used := 0
	kept := make([]bool, len(cols))
	n := 0
	for _, i := range []int{0, 1, 2, 4, 3, 5, 6} {
		c := &cols[i]
		for _, s := range c.cells {
			c.width = max(c.width, runewidth.StringWidth(s))
		}
		if c.width == 0 {
			continue
		}
		need := c.width
		if n > 0 {
			need += 2
		}
		if used+need > width && n >= 2 {
			continue
		}
		kept[i] = true
		used += need
		n++
	}
	var keep []column
	for i, c := range cols {
		if kept[i] {
			keep = append(keep, c)
		}
	}
	out := make([]string, len(shown))
	for r := range shown {
		var b strings.Builder
		for i, c := range keep {
			if i > 0 {
				b.WriteString("  ")
			}
			cell := c.cells[r]
			pad := strings.Repeat(" ", c.width-runewidth.StringWidth(cell))
			if i == len(keep)-1 && !c.right {
				pad = "" // no trailing blanks
			}
			if c.right {
				b.WriteString(pad + cell)
			} else {
				b.WriteString(cell + pad)
			}
		}
		line := strings.TrimRight(b.String(), " ")
		out[r] = runewidth.Truncate(line, width, "…")
	}
	return out
}

// Plain is f's line off a terminal: the same facts as a line of the
// view, without padding or truncation.
func Plain(f Flow, now time.Time) string {
	parts := []string{f.Phase, count(f.Rows) + " rows", Bytes(f.Bytes), count(int64(f.rate(now))) + " rows/s"}
	if d := f.eta(now); d >= 0 {
		parts = append(parts, "ETA "+clock(d))
	}
	if c := counters(f); c != "" {
		parts = append(parts, c)
	}
	return fmt.Sprintf("flow %s: %s", f.Name, strings.Join(parts, ", "))
}

// counters is f's resilience counters, empty while they are all zero.
func counters(f Flow) string {
	var parts []string
	if f.Retries > 0 {
		parts = append(parts, plural(f.Retries, "retry", "retries"))
	}
	if f.Restarts > 0 {
		parts = append(parts, plural(f.Restarts, "restart", "restarts"))
	}
	if f.RateLimitWait > 0 {
		parts = append(parts, fmt.Sprintf("waited %.1fs", f.RateLimitWait.Seconds()))
	}
	return strings.Join(parts, ", ")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// short prints n in at most five characters: 999, 12.3k, 4.56M.
func short(n int64) string {
	f := float64(n)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if f >= u.div {
			v := f / u.div
			switch {
			case v >= 100:
				return fmt.Sprintf("%.0f%s", v, u.suffix)
			case v >= 10:
				return fmt.Sprintf("%.1f%s", v, u.suffix)
			}
			return fmt.Sprintf("%.2f%s", v, u.suffix)
		}
	}
	return fmt.Sprint(n)
}

// count prints n with thousands separators: 1,234,567.
func count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Bytes prints n in binary units: "512 B", "3.4 MiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// clock prints d as h:mm:ss or m:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
