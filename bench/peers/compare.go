package main

import (
	"context"
	"fmt"
	"os"
	"slices"
)

// side is one of the two programs a pair compares.
type side struct {
	name string
	// run runs it once; dir is a fresh directory for its output, removed
	// afterwards.
	run func(ctx context.Context, dir string) (measure, error)
}

// pair is a comparison of sqlflow-host (ours) with a peer on the same
// input.
type pair struct {
	id, flow   string
	peer, ours side
	rows       int64 // the rows both sides must move
}

// result holds every run of both sides of a pair.
type result struct {
	pair
	peerRuns, oursRuns []measure
}

// runPair runs the sides n times each, alternated peer, ours, ours, peer,
// peer, … so that a machine that speeds up or slows down during the run
// weighs on both sides alike. Each run gets a fresh directory under work.
func runPair(ctx context.Context, work string, p pair, n int) (result, error) {
	r := result{pair: p}
	one := func(s side) (measure, error) {
		dir, err := os.MkdirTemp(work, "run-")
		if err != nil {
			return measure{}, err
		}
		defer os.RemoveAll(dir)
		m, err := s.run(ctx, dir)
		if err != nil {
			return m, fmt.Errorf("%s, %s: %w", p.flow, s.name, err)
		}
		if p.rows > 0 && m.rows != p.rows {
			return m, fmt.Errorf("%s, %s: moved %d rows, want %d", p.flow, s.name, m.rows, p.rows)
		}
		return m, nil
	}
	for i := range n {
		order := []bool{true, false} // peer first
		if i%2 == 1 {
			order = []bool{false, true}
		}
		var pm, om measure
		for _, peerTurn := range order {
			if peerTurn {
				m, err := one(p.peer)
				if err != nil {
					return r, err
				}
				pm = m
			} else {
				m, err := one(p.ours)
				if err != nil {
					return r, err
				}
				om = m
			}
		}
		r.peerRuns, r.oursRuns = append(r.peerRuns, pm), append(r.oursRuns, om)
		logf("[%s %s] pair %d/%d: %s %s | %s %s | wall ratio %.2f×", p.id, p.flow, i+1, n,
			p.peer.name, brief(pm), p.ours.name, brief(om), om.Wall.Seconds()/pm.Wall.Seconds())
	}
	return r, nil
}

// runAlone runs one side n times (no peer).
func runAlone(ctx context.Context, work, label string, s side, rows int64, n int) ([]measure, error) {
	var out []measure
	for i := range n {
		dir, err := os.MkdirTemp(work, "run-")
		if err != nil {
			return out, err
		}
		m, err := s.run(ctx, dir)
		os.RemoveAll(dir)
		if err != nil {
			return out, fmt.Errorf("%s: %w", label, err)
		}
		if rows > 0 && m.rows != rows {
			return out, fmt.Errorf("%s: moved %d rows, want %d", label, m.rows, rows)
		}
		out = append(out, m)
		logf("[%s] run %d/%d: %s", label, i+1, n, brief(m))
	}
	return out, nil
}

func brief(m measure) string {
	s := fmt.Sprintf("%.2f s wall, %.2f CPU-s, %.0f MiB", m.Wall.Seconds(), m.CPU, mib(m.PeakRSS))
	if m.Unreaped() {
		s += fmt.Sprintf(" (descendants not reaped: sampled %.2f s > reaped %.2f s)", m.SampledCPU, m.ReapedCPU)
	}
	return s + fmt.Sprintf(", others %.1f CPU-s", m.OthersCPU)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// median of v (the mean of the middle two for an even count); 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// stats are the medians of a side's runs.
type stats struct {
	wall, wallMin, wallMax, cpu, rss, others float64
}

func statsOf(ms []measure) stats {
	var wall, cpu, rss, others []float64
	for _, m := range ms {
		wall = append(wall, m.Wall.Seconds())
		cpu = append(cpu, m.CPU)
		rss = append(rss, mib(m.PeakRSS))
		others = append(others, m.OthersCPU)
	}
	return stats{wall: median(wall), wallMin: slices.Min(wall), wallMax: slices.Max(wall),
		cpu: median(cpu), rss: median(rss), others: median(others)}
}

// ratios returns the medians over the pairs of ours/peer wall time, CPU and
// peak RSS: each pair's two runs were close in time, so the ratio of a
// pair cancels most of the machine's drift.
func (r result) ratios() (wall, cpu, rss float64) {
	var w, c, m []float64
	for i := range r.peerRuns {
		p, o := r.peerRuns[i], r.oursRuns[i]
		w = append(w, o.Wall.Seconds()/p.Wall.Seconds())
		c = append(c, o.CPU/p.CPU)
		m = append(m, float64(o.PeakRSS)/float64(p.PeakRSS))
	}
	return median(w), median(c), median(m)
}
