package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/host/plugin"
)

// startCrasher makes a plugins dir whose "flaky" plugin is a script that
// records every start in a file and, for its first kills starts, says so
// on stderr and kills itself with SIGKILL (or, with exitCode > 0, exits
// with that status) before the handshake; later starts run the real
// crash test plugin. It returns the supervisor and the starts file.
func startCrasher(t *testing.T, kills, exitCode int, loop plugin.CrashLoop) (*plugin.Supervisor, string) {
	t.Helper()
	dir := pluginsDir(t)
	real := crashPlugin(t)
	starts := filepath.Join(t.TempDir(), "starts")
	die := "kill -9 $$"
	if exitCode > 0 {
		die = fmt.Sprintf("exit %d", exitCode)
	}
	script(t, dir.Path, "flaky", fmt.Sprintf(`echo start >> %[1]s
n=$(wc -l < %[1]s)
if [ "$n" -le %[2]d ]; then echo "dying at start $n" >&2; %[3]s; fi
exec %[4]s`, starts, kills, die, real))
	l, err := launcher(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	l.StartTimeout = 10 * time.Second
	s := plugin.NewSupervisor(l, "flaky", "flaky", func() (json.RawMessage, error) { return []byte("{}"), nil }, loop, nil)
	t.Cleanup(s.Stop)
	return s, starts
}

var crashBuild struct {
	once sync.Once
	path string
	err  error
}

// crashPlugin builds testdata/crashplugin once for the test binary (into
// its own temp dir, removed by TestMain) and returns its path.
func crashPlugin(t *testing.T) string {
	t.Helper()
	crashBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "sqlflow-crashplugin-")
		if err != nil {
			crashBuild.err = err
			return
		}
		buildDirs = append(buildDirs, dir)
		out := filepath.Join(dir, "crashplugin")
		if b, err := exec.Command("go", "build", "-o", out, "./testdata/crashplugin").CombinedOutput(); err != nil {
			crashBuild.err = fmt.Errorf("build crashplugin: %v\n%s", err, b)
			return
		}
		crashBuild.path = out
	})
	if crashBuild.err != nil {
		t.Fatal(crashBuild.err)
	}
	return crashBuild.path
}

// buildDirs are removed when the tests end.
var buildDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range buildDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func countStarts(t *testing.T, path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), "start")
}

// TestStartAfterKillAtStartup: a plugin killed by a signal before its
// handshake is started again, counted as a restart.
func TestStartAfterKillAtStartup(t *testing.T) {
	s, starts := startCrasher(t, 2, 0, plugin.CrashLoop{MaxRestarts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, RestartAtStart: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start after two kills at start-up: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("the started plugin does not answer: %v", err)
	}
	if h := s.Health(); h.State != plugin.StateRunning || h.Restarts != 2 || countStarts(t, starts) != 3 {
		t.Fatalf("health %+v after %d starts, want running with 2 restarts after 3 starts", h, countStarts(t, starts))
	}
}

// TestKillAtStartupWithoutRecovery: with connection recovery off the first
// kill at start-up fails the start, saying what happened.
func TestKillAtStartupWithoutRecovery(t *testing.T) {
	s, starts := startCrasher(t, 1, 0, plugin.CrashLoop{})
	err := s.Start(context.Background())
	if !errors.Is(err, plugin.ErrKilledAtStartup) || !strings.Contains(err.Error(), "killed by signal") || !strings.Contains(err.Error(), "dying at start 1") {
		t.Fatalf("err = %v, want a kill at start-up with the plugin's stderr", err)
	}
	if n := countStarts(t, starts); n != 1 {
		t.Fatalf("%d starts, want 1", n)
	}
}

// TestKilledAtEveryStartGivesUp: a plugin killed at every start hits the
// crash-loop limit; the error names the connector and shows its stderr.
func TestKilledAtEveryStartGivesUp(t *testing.T) {
	s, starts := startCrasher(t, 1000, 0, plugin.CrashLoop{MaxRestarts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, RestartAtStart: true})
	err := s.Start(context.Background())
	if !errors.Is(err, plugin.ErrGivenUp) || !strings.Contains(err.Error(), `"flaky"`) || !strings.Contains(err.Error(), "dying at start 3") {
		t.Fatalf("err = %v, want given up naming the connector with its last stderr", err)
	}
	if n := countStarts(t, starts); n != 3 {
		t.Fatalf("%d starts, want 3 (the first and 2 restarts)", n)
	}
}

// TestExitAtStartupIsNotRestarted: a plugin that exits with a status of
// its own at start-up (a missing library, a bad build) is not a crash: it
// is not started again, and the error shows its stderr.
func TestExitAtStartupIsNotRestarted(t *testing.T) {
	s, starts := startCrasher(t, 1, 3, plugin.CrashLoop{MaxRestarts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, RestartAtStart: true})
	err := s.Start(context.Background())
	if err == nil || errors.Is(err, plugin.ErrKilledAtStartup) || !strings.Contains(err.Error(), "exited at start-up") || !strings.Contains(err.Error(), "dying at start 1") {
		t.Fatalf("err = %v, want exited at start-up with its stderr", err)
	}
	if n := countStarts(t, starts); n != 1 {
		t.Fatalf("%d starts, want 1", n)
	}
}
