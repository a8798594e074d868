// Package procstat reads what tests and benchmarks measure about processes
// from Linux's /proc: a process's peak resident memory (VmHWM) and the peak
// of every process of a tree (a host and the plugins it starts), sampled
// while the tree runs. Off Linux every reading reports ErrUnsupported.
package procstat

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrUnsupported is returned where /proc cannot be read (not Linux). Test
// with errors.Is.
var ErrUnsupported = errors.New("procstat: /proc is not available")

// status returns the fields of /proc/<pid>/status that procstat uses.
func status(pid int) (name string, ppid int, hwm int64, err error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		if _, serr := os.Stat("/proc/self/status"); serr != nil {
			return "", 0, 0, ErrUnsupported
		}
		return "", 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "Name":
			name = val
		case "PPid":
			ppid, _ = strconv.Atoi(val)
		case "VmHWM":
			kb, _ := strconv.ParseInt(strings.TrimSuffix(val, " kB"), 10, 64)
			hwm = kb << 10
		}
	}
	return name, ppid, hwm, sc.Err()
}

// PeakRSS returns a running process's peak resident set size (VmHWM) in
// bytes.
func PeakRSS(pid int) (int64, error) {
	_, _, hwm, err := status(pid)
	if err != nil {
		return 0, fmt.Errorf("peak RSS of process %d: %w", pid, err)
	}
	return hwm, nil
}

// Tree returns root and its descendants, each with its program's base name
// (of its first argument; /proc's 15-byte Name when that is unreadable).
func Tree(root int) map[int]string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	names := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, ppid, _, err := status(pid)
		if err != nil {
			continue
		}
		if argv, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && len(argv) > 0 {
			// Name is cut at 15 bytes (sqlflow-plugin-s3 would be
			// sqlflow-plugin-): prefer the program's base name.
			arg0, _, _ := strings.Cut(string(argv), "\x00")
			name = filepath.Base(arg0)
		}
		names[pid] = name
		children[ppid] = append(children[ppid], pid)
	}
	out := map[int]string{}
	var walk func(int)
	walk = func(pid int) {
		if _, seen := out[pid]; seen {
			return
		}
		out[pid] = names[pid]
		for _, c := range children[pid] {
			walk(c)
		}
	}
	if _, ok := names[root]; ok {
		walk(root)
	}
	return out
}

// Sampler records the peak RSS of every process of a tree, by program
// name (as [Tree] names them), reading /proc at a fixed interval until Stop. VmHWM is itself a
// high-water mark, so a sample misses only a process that lived less than
// one interval.
type Sampler struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	peaks map[string]int64
}

// Sample starts sampling the tree under root every interval (50 ms when
// interval <= 0).
func Sample(root int, interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{}), peaks: map[string]int64{}}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			s.once(root)
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *Sampler) once(root int) {
	for pid, name := range Tree(root) {
		if hwm, err := PeakRSS(pid); err == nil {
			s.mu.Lock()
			s.peaks[name] = max(s.peaks[name], hwm)
			s.mu.Unlock()
		}
	}
}

// Stop ends sampling and returns the peak RSS in bytes of each program
// name seen (the greatest over processes of the same name).
func (s *Sampler) Stop() map[string]int64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.peaks))
	for k, v := range s.peaks {
		out[k] = v
	}
	return out
}
