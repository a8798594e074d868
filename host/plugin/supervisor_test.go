package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

func supervisor(t *testing.T, cfg map[string]any, loop plugin.CrashLoop) *plugin.Supervisor {
	t.Helper()
	dir := pluginsDir(t)
	build(t, dir.Path, "crashplugin", "crash")
	l, err := launcher(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	s := plugin.NewSupervisor(l, "crash", "flaky", func() (json.RawMessage, error) { return json.Marshal(cfg) }, loop, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func TestSupervisorRestartsACrashedPlugin(t *testing.T) {
	dir := t.TempDir()
	crash := filepath.Join(dir, "crash")
	seen := filepath.Join(dir, "seen")
	s := supervisor(t, map[string]any{"crash_file": crash, "seen_file": seen}, plugin.CrashLoop{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, _ := json.Marshal(map[string]any{"crash_file": crash, "seen_file": seen})
	if _, err := s.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginWrite(ctx, sdk.WriteRequest{WriteID: "w1", Flow: "f"}); err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	os.WriteFile(crash, nil, 0o644)
	err := s.Check(ctx)
	if !rpcclient.IsTransport(err) || errclass.Of(err) != errclass.Transient {
		t.Fatalf("a crash must be a transient transport error, got %v", err)
	}
	os.Remove(crash)
	if err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("the restarted plugin was not configured: %v", err)
	}
	h := s.Health()
	if h.State != plugin.StateRunning || h.Restarts != 1 || h.Pid == pid || h.Pid == 0 {
		t.Fatalf("health = %+v (old pid %d)", h, pid)
	}
	// The open write was begun again in the new process.
	data, _ := os.ReadFile(seen)
	if strings.Count(string(data), "w1") != 2 {
		t.Fatalf("BeginWrite seen %q, want w1 twice", data)
	}
	// A second Recover with no new failure is a no-op.
	if err := s.Recover(ctx); err != nil || s.Health().Restarts != 1 {
		t.Fatalf("recover without failure restarted: %v %+v", err, s.Health())
	}
}

func TestSupervisorGivesUpOnACrashLoop(t *testing.T) {
	s := supervisor(t, map[string]any{"exit_on_configure": true}, plugin.CrashLoop{MaxRestarts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := s.Configure(ctx, json.RawMessage(`{"exit_on_configure": true}`))
	if !rpcclient.IsTransport(err) {
		t.Fatalf("got %v", err)
	}
	var last error
	for i := 0; i < 10; i++ {
		if last = s.Recover(ctx); errors.Is(last, plugin.ErrGivenUp) {
			break
		}
	}
	if !errors.Is(last, plugin.ErrGivenUp) || errclass.Of(last) != errclass.Permanent {
		t.Fatalf("never gave up: %v", last)
	}
	for _, want := range []string{`connector "flaky"`, "more than 3 restarts", "crashing on purpose at configure"} {
		if !strings.Contains(last.Error(), want) {
			t.Fatalf("error %q lacks %q", last, want)
		}
	}
	if h := s.Health(); h.State != plugin.StateGivenUp || h.Restarts != 3 {
		t.Fatalf("health %+v", h)
	}
	if err := s.Check(ctx); !errors.Is(err, plugin.ErrGivenUp) {
		t.Fatalf("calls after giving up: %v", err)
	}
}

func TestHealthPingKillsAHungPlugin(t *testing.T) {
	dir := t.TempDir()
	s := supervisor(t, map[string]any{"crash_file": filepath.Join(dir, "none")}, plugin.CrashLoop{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	// Freeze the plugin: it stops answering, as a hung process would.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// kill(2) only queues the stop: wait until the kernel reports the
	// process stopped, so the call below cannot slip in before it.
	for deadline := time.Now().Add(10 * time.Second); processState(pid) != 'T'; {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is not stopped after SIGSTOP (state %c)", pid, processState(pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.WatchHealth(ctx, 200*time.Millisecond)
	// A call now fails as a transport error once the ping killed the
	// process (no call deadline is set here: only the ping can end it).
	err := s.Check(ctx)
	if !rpcclient.IsTransport(err) {
		t.Fatalf("a call to a hung plugin ended with %v", err)
	}
	if err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil || s.Pid() == pid {
		t.Fatalf("after recovery: %v (pid %d, was %d)", err, s.Pid(), pid)
	}
}

// processState returns the state letter of /proc/<pid>/stat (R, S, T, …),
// or 0 when it cannot be read.
func processState(pid int) byte {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0
	}
	return data[i+2]
}
