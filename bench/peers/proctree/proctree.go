// Package proctree runs a command and measures its whole process tree: the
// wall time, the CPU seconds of the command and of every descendant, the
// peak resident set size over the tree, and the CPU the rest of the
// machine used meanwhile. Linux only: it reads /proc.
//
// # CPU
//
// When the command exits, Run waits for it with WNOWAIT first, so the
// process stays a zombie whose /proc/<pid>/stat still holds its final
// utime/stime (its own CPU) and cutime/cstime (the CPU of the descendants
// it reaped); then it reaps it and takes wait4's rusage, which is the sum
// of both. A descendant that the command did not reap is missing from
// those figures, so Run also samples every descendant's /proc/<pid>/stat
// while the tree runs and counts the larger of the two.
//
// # Peak RSS
//
// VmHWM (a high-water mark) of the command and of every descendant is read
// every sampling interval; a sample misses at most the growth of the last
// interval before a process ends. wait4's ru_maxrss (the largest of the
// command and the descendants it reaped) is kept beside it as a
// cross-check, and the peak is the larger of the two.
package proctree

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Interval is how often Run samples the tree's /proc files. 50 ms keeps the
// sampler's own CPU under 1 % of a core for trees of a few processes.
const Interval = 50 * time.Millisecond

// clockTick is Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s.
const clockTick = 100.0

// Usage is what one run of a command used.
type Usage struct {
	// Wall is from the start of the command to its exit.
	Wall time.Duration
	// CPU is the user + system seconds of the command and all its
	// descendants: the larger of wait4's figure and SelfCPU plus the
	// sampled descendants.
	CPU float64
	// SelfCPU is the command's own user + system seconds, without its
	// descendants.
	SelfCPU float64
	// ReapedCPU is the user + system seconds of the descendants the command
	// waited for (cutime + cstime at its exit).
	ReapedCPU float64
	// SampledCPU is the sum over the descendants seen while sampling of the
	// last CPU seconds read for each (it misses at most the last interval
	// of each).
	SampledCPU float64
	// PeakRSS is the largest VmHWM seen over the tree, or wait4's
	// ru_maxrss when that is larger, in bytes.
	PeakRSS int64
	// PeakRSSByName is the largest VmHWM seen per executable (the base
	// name of argv[0]), in bytes.
	PeakRSSByName map[string]int64
	// OthersCPU is the CPU seconds every other process of the machine used
	// during the run (/proc/stat's busy time minus CPU). Several seconds of
	// it mean a neighbour slowed the run.
	OthersCPU float64
	// Stdout and Stderr are what the command wrote.
	Stdout, Stderr []byte
}

// Unreaped reports whether the descendants used measurably more CPU than
// the command reaped: then some ran past their parent, or were never
// waited for, and only sampling counted them.
func (u Usage) Unreaped() bool { return u.SampledCPU > u.ReapedCPU+0.1 }

// Run starts cmd (whose Stdout and Stderr must be unset), waits for it and
// returns what its process tree used. A command that fails is an error
// carrying its stderr; the usage is returned with it. Cancelling ctx kills
// the command.
func Run(ctx context.Context, cmd *exec.Cmd) (Usage, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	busy0 := MachineCPU()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return Usage{}, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	pid := cmd.Process.Pid
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	defer stop()

	s := &sampler{rss: map[string]int64{}, cpu: map[int]float64{}}
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			s.sample(pid)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()

	// Exited but not reaped: /proc/<pid>/stat now holds final figures.
	var info unix.Siginfo
	var werr error
	for {
		werr = unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if werr != unix.EINTR {
			break
		}
	}
	wall := time.Since(began)
	close(done)
	<-sampled
	s.sample(pid) // the zombie's descendants, if any outlived it
	var self, reaped float64
	if werr == nil {
		self, reaped = zombieCPU(pid)
	}
	err := cmd.Wait()
	u := Usage{
		Wall:          wall,
		SelfCPU:       self,
		ReapedCPU:     reaped,
		PeakRSSByName: s.rss,
		Stdout:        stdout.Bytes(),
		Stderr:        stderr.Bytes(),
	}
	for _, c := range s.cpu {
		u.SampledCPU += c
	}
	u.PeakRSS = s.peak
	if cmd.ProcessState != nil {
		total := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		u.CPU = max(total, self+u.SampledCPU)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			u.PeakRSS = max(u.PeakRSS, ru.Maxrss<<10)
		}
	}
	u.OthersCPU = max(0, MachineCPU()-busy0-u.CPU)
	if err != nil {
		return u, fmt.Errorf("%s: %w\nstderr:\n%s", strings.Join(cmd.Args, " "), err, tail(stderr.Bytes(), 4000))
	}
	return u, nil
}

// sampler keeps the high-water marks seen in /proc.
type sampler struct {
	mu   sync.Mutex
	peak int64
	rss  map[string]int64
	cpu  map[int]float64 // descendants' last CPU seconds, by pid
}

func (s *sampler) sample(root int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var walk func(pid int, depth int)
	walk = func(pid int, depth int) {
		if hwm := peakRSS(pid); hwm > 0 {
			s.peak = max(s.peak, hwm)
			name := filepath.Base(cmdline0(pid))
			s.rss[name] = max(s.rss[name], hwm)
		}
		if depth > 0 {
			if c, ok := procCPU(pid); ok {
				s.cpu[pid] = max(s.cpu[pid], c)
			}
		}
		if depth < 8 {
			for _, c := range children(pid) {
				walk(c, depth+1)
			}
		}
	}
	walk(root, 0)
}

// MachineCPU returns the CPU seconds every process of the machine has used
// (user, nice, system, irq, softirq and steal of /proc/stat's cpu line).
func MachineCPU() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(f[i], 64)
		ticks += v
	}
	return ticks / clockTick
}

// statFields returns the fields of /proc/<pid>/stat after the command name
// (field 3, the state, is index 0).
func statFields(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(data[i+1:]))
}

// procCPU returns a process's own user + system CPU seconds.
func procCPU(pid int) (float64, bool) {
	f := statFields(pid)
	if len(f) < 15 {
		return 0, false
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTick, true
}

// zombieCPU returns a process's own CPU seconds and those of the children
// it reaped (utime + stime, cutime + cstime).
func zombieCPU(pid int) (self, reaped float64) {
	f := statFields(pid)
	if len(f) < 15 {
		return 0, 0
	}
	v := func(i int) float64 { x, _ := strconv.ParseFloat(f[i], 64); return x }
	return (v(11) + v(12)) / clockTick, (v(13) + v(14)) / clockTick
}

// peakRSS returns VmHWM of a process in bytes, 0 when it is gone (or a
// zombie, which has no memory left).
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// children lists the child processes of pid (of all its threads).
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func cmdline0(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	return string(data)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TreeCPU returns the CPU seconds used so far by pid and its children: its
// own, what it reaped from children that ended (cutime + cstime), and the
// own CPU of each child still running. For a server that forks a process
// per connection (PostgreSQL's postmaster), the difference of two readings
// is what the server used between them. 0 when pid is gone.
func TreeCPU(pid int) float64 {
	self, reaped := zombieCPU(pid)
	total := self + reaped
	for _, c := range children(pid) {
		if v, ok := procCPU(c); ok {
			total += v
		}
	}
	return total
}
