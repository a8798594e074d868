package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostBinary builds the CLI once per test that needs a real process.
func hostBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sqlflow-host")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build host: %v\n%s", err, out)
	}
	return bin
}

// slowPipeline is a flow that runs for minutes: every page waits a second.
func slowPipeline(t *testing.T, dir string) string {
	return write(t, dir, "slow.yaml", `version: 1
sources:
  gen: {type: memory, table_name: events, generate: {rows: 100000000, seed: 1}, faults: {latency: 1.0}}
destinations:
  out: {type: csv, path: `+dir+`/out}
flows:
  - {from: gen, to: out, target: events.csv}
`)
}

// pluginPids lists the processes whose parent is pid and whose command is a
// sqlflow plugin.
func pluginPids(t *testing.T, parent int) []int {
	t.Helper()
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if !strings.Contains(string(cmdline), "sqlflow-plugin-") || !strings.Contains(string(cmdline), pluginsDir) {
			continue
		}
		if parent != 0 {
			stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
			f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(f) < 2 || f[1] != strconv.Itoa(parent) {
				continue
			}
		}
		if s, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); strings.Contains(string(s), ") Z ") {
			continue // a zombie is already dead
		}
		out = append(out, pid)
	}
	return out
}

// startSlowRun starts the host on the slow pipeline and returns once its
// plugins are up (the host logs when the flow's first page is asked for).
func startSlowRun(t *testing.T) (*exec.Cmd, string, []int) {
	t.Helper()
	return startSlowRunWith(t, hostBinary(t), nil)
}

// startSlowRunWith is startSlowRun with the host binary bin and env added
// to the host's environment.
func startSlowRunWith(t *testing.T, bin string, env []string) (*exec.Cmd, string, []int) {
	t.Helper()
	dir := t.TempDir()
	p := slowPipeline(t, dir)
	cmd := exec.Command(bin, "--plugins-dir", pluginsDir, "--log-level", "debug", "run", p)
	cmd.Env = append(os.Environ(), env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Wait, by reading its log, until both plugins are configured and the
	// write has begun.
	sc := bufio.NewScanner(stderr)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if strings.Contains(sc.Text(), "staged write") || strings.Contains(sc.Text(), "BeginWrite") ||
			len(pluginPids(t, cmd.Process.Pid)) == 2 {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	pids := pluginPids(t, cmd.Process.Pid)
	if len(pids) != 2 {
		t.Fatalf("expected 2 plugin processes, found %v", pids)
	}
	return cmd, dir, pids
}

func waitGone(t *testing.T, pids []int, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		alive := 0
		for _, pid := range pids {
			if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(stat), ") Z ") {
				alive++
			}
		}
		if alive == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d plugin processes still running after %v", alive, within)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestSIGTERMAbortsAndStopsPlugins(t *testing.T) {
	cmd, dir, pids := startSlowRun(t)
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if took := time.Since(t0); took > 5*time.Second {
		t.Fatalf("host took %v to exit after SIGTERM", took)
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v (want status 1)", err)
	}
	waitGone(t, pids, 5*time.Second)
	if _, err := os.Stat(filepath.Join(dir, "out", "events.csv")); err == nil {
		t.Fatal("an interrupted flow left a target")
	}
}

func TestSIGKILLedHostLeavesNoPlugin(t *testing.T) {
	cmd, _, pids := startSlowRun(t)
	cmd.Process.Kill()
	cmd.Wait()
	waitGone(t, pids, 5*time.Second)
}
