package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// pluginsWith returns a plugins directory holding the built plugins plus
// the testdata plugin pkg as sqlflow-plugin-<typ>.
func pluginsWith(t *testing.T, pkg, typ string) string {
	t.Helper()
	dir := testenv.SafeDir(t)
	entries, _ := os.ReadDir(pluginsDir)
	for _, e := range entries {
		os.Symlink(filepath.Join(pluginsDir, e.Name()), filepath.Join(dir, e.Name()))
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "sqlflow-plugin-"+typ), "./testdata/"+pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return dir
}

// A plugin that hangs inside ReadPage, deaf to its context, is caught by
// the call's deadline, killed and replaced; the read resumes at the page
// that hung and the run completes with every row once.
func TestHungPluginIsReplaced(t *testing.T) {
	dir := t.TempDir()
	hang := write(t, dir, "hang-once", "")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  src:
    type: hang
    hang_file: `+hang+`
    resilience: {timeout: 1, retry: {max_attempts: 3, initial_delay: 0.05, max_delay: 0.1}}
destinations:
  dst: {type: memory}
flows:
  - {from: src, to: dst, target: numbers}
`)
	t0 := time.Now()
	r := cliDir(t, pluginsWith(t, "hangplugin", "hang"), "run", p)
	expect(t, r, 0, "2000 rows", "1 plugin restart")
	if _, err := os.Stat(hang); err == nil {
		t.Fatal("the plugin never reached the page that hangs")
	}
	if took := time.Since(t0); took > 30*time.Second {
		t.Fatalf("run took %v", took)
	}
	if !strings.Contains(r.stderr, "plugin restarted") {
		t.Fatalf("no restart logged:\n%s", r)
	}
}

// A host killed outright leaves its staging behind; the next run of the
// same flow cleans it and completes.
func TestNextRunCleansStagingOfAKilledHost(t *testing.T) {
	bin := hostBinary(t)
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: events, generate: {rows: 20000, seed: 3}, faults: {latency: 0.05}}
destinations:
  out: {type: csv, path: `+dir+`/out}
flows:
  - {name: slow, from: gen, to: out, target: events.csv}
`)
	cmd := exec.Command(bin, "--plugins-dir", pluginsDir, "run", "--page-rows", "100", p)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until staging exists, then SIGKILL the host.
	deadline := time.Now().Add(30 * time.Second)
	var staged []string
	for time.Now().Before(deadline) {
		staged, _ = filepath.Glob(filepath.Join(dir, "out", ".sqlflow-staging-p_slow*"))
		if len(staged) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(staged) == 0 {
		t.Fatal("no staging appeared before the host was killed")
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "events.csv")); err == nil {
		t.Fatal("a killed run made its target visible")
	}
	// The next run: fast this time.
	os.WriteFile(p, []byte(strings.Replace(mustRead(t, p), "faults: {latency: 0.05}", "faults: {latency: 0}", 1)), 0o644)
	r := cli(t, "run", "--page-rows", "5000", p)
	expect(t, r, 0)
	for _, s := range staged {
		if _, err := os.Stat(s); err == nil {
			t.Fatalf("staging of the killed run is still there: %s", s)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "events.csv")); err != nil {
		t.Fatalf("target missing after the second run: %v", err)
	}
}

// A plugin that crashes on every start hits the crash-loop limit: the run
// fails with an error naming the connector and showing the plugin's last
// stderr lines, and the target is left as it was.
func TestCrashLoopGivesUp(t *testing.T) {
	dir := t.TempDir()
	plugins := testenv.SafeDir(t)
	entries, _ := os.ReadDir(pluginsDir)
	for _, e := range entries {
		os.Symlink(filepath.Join(pluginsDir, e.Name()), filepath.Join(plugins, e.Name()))
	}
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "sqlflow-plugin-crash"), "./host/plugin/testdata/crashplugin")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build crashplugin: %v\n%s", err, out)
	}
	write(t, dir, "target/keep.txt", "the target before the run\n")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: t, generate: {rows: 10, seed: 1}}
destinations:
  flaky:
    type: crash
    exit_on_configure: true
    seen_file: `+dir+`/target/seen
    resilience: {retry: {max_attempts: 10, initial_delay: 0.01, max_delay: 0.05}, circuit_breaker: false, recovery: {max_restarts: 3, restart_window: 60}}
flows:
  - {from: gen, to: flaky, target: t}
`)
	r := cliDir(t, plugins, "run", p)
	if r.code == 0 {
		t.Fatalf("a plugin crashing on every start did not fail the run:\n%s", r)
	}
	expect(t, r, r.code, `"flaky"`, "plugin given up after repeated crashes", "more than 3 restarts", "crashing on purpose at configure")
	got, _ := os.ReadDir(filepath.Join(dir, "target"))
	if len(got) != 1 || got[0].Name() != "keep.txt" {
		t.Fatalf("the target changed: %v", got)
	}
}

// With the default circuit breaker the breaker may open before the
// crash-loop limit is reached; the error still shows the plugin's last
// words.
func TestCrashingPluginErrorShowsStderr(t *testing.T) {
	dir := t.TempDir()
	plugins := testenv.SafeDir(t)
	entries, _ := os.ReadDir(pluginsDir)
	for _, e := range entries {
		os.Symlink(filepath.Join(pluginsDir, e.Name()), filepath.Join(plugins, e.Name()))
	}
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "sqlflow-plugin-crash"), "./host/plugin/testdata/crashplugin")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build crashplugin: %v\n%s", err, out)
	}
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen: {type: memory, table_name: t, generate: {rows: 10, seed: 1}}
destinations:
  flaky: {type: crash, exit_on_configure: true, seen_file: `+dir+`/seen}
flows:
  - {from: gen, to: flaky, target: t}
`)
	r := cliDir(t, plugins, "run", p)
	if r.code == 0 {
		t.Fatalf("a plugin crashing on every start did not fail the run:\n%s", r)
	}
	expect(t, r, r.code, `"flaky"`, "crashing on purpose at configure")
}

// AUTH_EXPIRED from a source makes the host re-read the connector's
// settings and configure it again; the connector re-reads its secret file,
// finds the rotated credential, and the run succeeds with every row once.
func TestExpiredCredentialIsRefreshedFromAChangedFile(t *testing.T) {
	bin := hostBinary(t)
	dir := t.TempDir()
	secret := write(t, dir, "token", "A\n")
	revoked := filepath.Join(dir, "revoked")
	p := write(t, dir, "p.yaml", `version: 1
sources:
  gen:
    type: memory
    table_name: events
    generate: {rows: 1000, seed: 5}
    faults: {latency: 0.3, auth_file: `+secret+`, revoked_file: `+revoked+`}
    resilience: {retry: {max_attempts: 2, initial_delay: 0.01, max_delay: 0.05}, recovery: {enable_credential_refresh: true}}
destinations:
  out: {type: memory}
flows:
  - {name: auth, from: gen, to: out, target: events}
`)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--plugins-dir", pluginsDir, "run", "--page-rows", "100", "--metrics-addr", addr, p)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Once a page went through with credential A (the run's metrics say
	// so), rotate: the new credential B is written first, then the
	// "server" revokes A.
	deadline := time.Now().Add(30 * time.Second)
	for !pagesDone(addr, "auth") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	os.WriteFile(secret, []byte("B\n"), 0o600)
	os.WriteFile(revoked, []byte("A\n"), 0o600)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "injected expired credential") || !strings.Contains(stdout.String(), "1000 rows") {
		t.Fatalf("no credential refresh happened, or rows were lost:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// pagesDone reports whether the run serving metrics at addr counted a page
// of flow.
func pagesDone(addr, flow string) bool {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "flow_pages_total{") && strings.Contains(line, `flow="`+flow+`"`) {
			f := strings.Fields(line)
			return len(f) == 2 && f[1] != "0"
		}
	}
	return false
}
