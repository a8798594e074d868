package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/bench/peers/proctree"
)

// postmaster returns the pid of the PostgreSQL server process that serves
// url, when it runs on this machine: the first line of postmaster.pid in
// the server's data directory (which needs a superuser or
// pg_read_all_settings to show). 0 when it cannot be seen.
func postmaster(ctx context.Context, url string) int {
	out, err := exec.CommandContext(ctx, "psql", "-X", "-tA", "-d", url, "-c", "SHOW data_directory").Output()
	if err != nil {
		return 0
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || proctree.TreeCPU(pid) == 0 {
		return 0
	}
	return pid
}

// serverSide wraps a side of pair 3 so that its measure also holds the CPU
// seconds the server used meanwhile (proctree.TreeCPU of the postmaster,
// which counts backends that ended through the postmaster's reaped time).
func serverSide(pm int, s side) side {
	if pm == 0 {
		return s
	}
	run := s.run
	s.run = func(ctx context.Context, dir string) (measure, error) {
		before := proctree.TreeCPU(pm)
		m, err := run(ctx, dir)
		m.serverCPU = proctree.TreeCPU(pm) - before
		return m, err
	}
	return s
}

// serverNote is the notes cell of a side of pair 3.
func serverNote(ms []measure) string {
	var v []float64
	for _, m := range ms {
		v = append(v, m.serverCPU)
	}
	if median(v) <= 0 {
		return ""
	}
	return fmt.Sprintf("PostgreSQL server %.2f CPU-s", median(v))
}
