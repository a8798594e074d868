package plugin_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/plugin"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// build compiles a testdata plugin into dir as sqlflow-plugin-<name>.
func build(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, plugin.BinaryPrefix+name)
	cmd := exec.Command("go", "build", "-o", out, "./testdata/"+pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, plugin.BinaryPrefix+name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// pluginsDir returns a new plugins directory that passes the permission
// check: its parents are safe, unlike t.TempDir()'s /tmp.
func pluginsDir(t *testing.T) plugin.Dir {
	t.Helper()
	return plugin.Dir{Path: testenv.SafeDir(t), From: "test"}
}

// launcher returns a launcher for dir, closed when t ends.
func launcher(t *testing.T, dir plugin.Dir, opts ...plugin.Option) (*plugin.Launcher, error) {
	t.Helper()
	l, err := plugin.NewLauncher(dir, hclog.NewNullLogger(), opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l, nil
}

func start(t *testing.T, dir plugin.Dir, typ string) (*plugin.Process, error) {
	t.Helper()
	l, err := launcher(t, dir)
	if err != nil {
		return nil, err
	}
	return startWith(t, l, typ)
}

// startWith starts typ with l; the process is killed when t ends.
func startWith(t *testing.T, l *plugin.Launcher, typ string) (*plugin.Process, error) {
	t.Helper()
	l.StartTimeout = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := l.Start(ctx, typ, "inst")
	if p != nil {
		t.Cleanup(p.Kill)
	}
	return p, err
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

func TestStartOKAndKill(t *testing.T) {
	dir := pluginsDir(t)
	build(t, dir.Path, "okplugin", "ok")
	p, err := start(t, dir, "ok")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	spec, err := p.Client.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "ok" || spec.ProtocolVersion != 1 {
		t.Fatalf("spec = %+v", spec)
	}
	if _, err := p.Client.Configure(ctx, []byte(`{}`)); err != nil {
		t.Fatalf("stdout noise broke the protocol: %v", err)
	}
	pid := p.Pid()
	if pid == 0 {
		t.Fatal("no pid")
	}
	p.Kill()
	// The process is gone once Kill returns (go-plugin waits for it).
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("plugin %d still running after Kill", pid)
	}
}

func TestUnknownTypeListsPlugins(t *testing.T) {
	dir := pluginsDir(t)
	script(t, dir.Path, "alpha", "exit 0")
	script(t, dir.Path, "beta", "exit 0")
	_, err := start(t, dir, "gamma")
	wantErr(t, err, `unknown connector type "gamma"`, "alpha, beta", dir.Path)
}

func TestMissingDir(t *testing.T) {
	_, err := start(t, plugin.Dir{Path: "/nonexistent/plugins", From: "test"}, "csv")
	wantErr(t, err, "plugins directory /nonexistent/plugins (from test) does not exist")
}

func TestNotAPlugin(t *testing.T) {
	dir := pluginsDir(t)
	script(t, dir.Path, "chatty", `echo "hello, I am not a plugin"; sleep 30`)
	t0 := time.Now()
	_, err := start(t, dir, "chatty")
	wantErr(t, err, "not a sqlflow-host plugin")
	if time.Since(t0) > 10*time.Second {
		t.Fatalf("took %v: a chatty non-plugin must fail at once", time.Since(t0))
	}
}

func TestSilentNonPluginTimesOut(t *testing.T) {
	dir := pluginsDir(t)
	script(t, dir.Path, "silent", `sleep 30`)
	_, err := start(t, dir, "silent")
	wantErr(t, err, "did not complete the plugin handshake")
}

func TestExitAtStartShowsStderr(t *testing.T) {
	dir := pluginsDir(t)
	script(t, dir.Path, "dies", `echo "fatal: missing libpq.so.5" >&2; exit 3`)
	_, err := start(t, dir, "dies")
	wantErr(t, err, "exited at start-up", "fatal: missing libpq.so.5")
}

func TestPanicAtStartShowsPanic(t *testing.T) {
	dir := pluginsDir(t)
	build(t, dir.Path, "panicplugin", "panicky")
	_, err := start(t, dir, "panicky")
	wantErr(t, err, "exited at start-up", "cannot open libfoo.so")
}

func TestOtherProtocolVersion(t *testing.T) {
	dir := pluginsDir(t)
	build(t, dir.Path, "v2plugin", "future")
	_, err := start(t, dir, "future")
	wantErr(t, err, "protocol version")
}

func TestLock(t *testing.T) {
	dir := pluginsDir(t)
	bin := build(t, dir.Path, "okplugin", "ok")
	if _, err := plugin.WriteLock(dir, plugin.Perms{}); err != nil {
		t.Fatal(err)
	}
	p, err := start(t, dir, "ok")
	if err != nil {
		t.Fatalf("locked plugin refused: %v", err)
	}
	p.Kill()
	// Change the binary after locking it.
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()
	_, err = start(t, dir, "ok")
	wantErr(t, err, "refusing plugin ok", "changed since it was locked", "plugins lock")

	// A plugin added after the lock is refused too.
	script(t, dir.Path, "newcomer", "exit 0")
	_, err = start(t, dir, "newcomer")
	wantErr(t, err, "not pinned")
}

func TestResolveDir(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if d := plugin.ResolveDir("/x", getenv, "/p", "p.yaml", "rel"); d.Path != "/x" || d.From != "--plugins-dir" {
		t.Fatalf("flag: %v", d)
	}
	env[plugin.EnvPluginsDir] = "/env"
	if d := plugin.ResolveDir("", getenv, "/p", "p.yaml", "rel"); d.Path != "/env" {
		t.Fatalf("env: %v", d)
	}
	delete(env, plugin.EnvPluginsDir)
	if d := plugin.ResolveDir("", getenv, "/p", "p.yaml", "rel"); d.Path != "/p/rel" || !strings.Contains(d.From, "p.yaml") {
		t.Fatalf("file: %v", d)
	}
	if d := plugin.ResolveDir("", getenv, "/p", "p.yaml", ""); !strings.HasSuffix(d.Path, "/plugins") {
		t.Fatalf("exe: %v", d)
	}
}

// TestAliasFindsItsPlugin: a type name no binary carries starts the
// plugin whose Spec lists it among its aliases; each binary's Spec is
// asked once per launcher; a name no Spec lists is still an unknown type,
// with the plugins found.
func TestAliasFindsItsPlugin(t *testing.T) {
	dir := pluginsDir(t)
	build(t, dir.Path, "okplugin", "ok")
	script(t, dir.Path, "broken", "exit 3")
	l, err := launcher(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.CachedSpec("ok"); ok {
		t.Fatal("a spec known before any start")
	}
	p, err := startWith(t, l, "okay")
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "okay" {
		t.Errorf("process type %q, want the name asked for", p.Type)
	}
	for _, name := range []string{"ok", "okay"} {
		spec, ok := l.CachedSpec(name)
		if !ok || spec.Name != "ok" {
			t.Errorf("CachedSpec(%q) = %+v, %v", name, spec, ok)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if spec, err := l.Spec(ctx, "okay"); err != nil || spec.Name != "ok" || len(spec.Aliases) != 1 {
		t.Fatalf("Spec(okay) = %+v, %v", spec, err)
	}
	b, err := l.Find(ctx, "okay")
	if err != nil || b.Type != "ok" {
		t.Fatalf("Find(okay) = %+v, %v", b, err)
	}
	_, err = l.Find(ctx, "google_sheets")
	wantErr(t, err, `unknown connector type "google_sheets"`, "plugins found: broken, ok")
	if !errors.Is(err, plugin.ErrUnknownType) {
		t.Errorf("%v does not wrap ErrUnknownType", err)
	}
	// The package-level Find knows file names only.
	if _, err := plugin.Find(dir, "okay"); !errors.Is(err, plugin.ErrUnknownType) {
		t.Errorf("Find(dir, okay): %v", err)
	}
}

// TestPrestartHandsItsProcessToTheStart: learning a Spec ahead of an
// instance's start costs no extra process: that instance's Start takes
// the process Prestart started; another instance gets its own; Close
// stops a process no Start took.
func TestPrestartHandsItsProcessToTheStart(t *testing.T) {
	dir := pluginsDir(t)
	build(t, dir.Path, "okplugin", "ok")
	l, err := launcher(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec, err := l.Prestart(ctx, "ok", "first")
	if err != nil || spec.Name != "ok" {
		t.Fatalf("Prestart = %+v, %v", spec, err)
	}
	// Known now: asking again starts nothing, by name or alias.
	if spec, err := l.Prestart(ctx, "okay", "second"); err != nil || spec.Name != "ok" {
		t.Fatalf("Prestart again = %+v, %v", spec, err)
	}
	p1, err := startWith(t, l, "okay")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := startWith(t, l, "okay")
	if err != nil {
		t.Fatal(err)
	}
	if p1.Pid() == p2.Pid() {
		t.Fatal("two instances share a process")
	}
	// startWith starts instance "inst": neither took the spare of
	// "first".
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	spares := l.SparePids()
	pf, err := l.Start(ctx2, "okay", "first")
	if err != nil {
		t.Fatal(err)
	}
	pid := pf.Pid()
	if len(spares) != 1 || spares[0] != pid || len(l.SparePids()) != 0 {
		t.Errorf("spares %v, then %v; the start got %d", spares, l.SparePids(), pid)
	}
	pf2, err := l.Start(ctx2, "okay", "first")
	if err != nil {
		t.Fatal(err)
	}
	if pf2.Pid() == pid {
		t.Fatal("the spare was handed out twice")
	}
	pf.Kill()
	pf2.Kill()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("plugin %d still running after Kill", pid)
	}

	// A spare no Start takes is stopped by Close.
	l2, err := launcher(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Prestart(ctx, "ok", "unused"); err != nil {
		t.Fatal(err)
	}
	pids := l2.SparePids()
	if len(pids) != 1 {
		t.Fatalf("spares %v, want one", pids)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pids[0], 0); err == nil {
		t.Errorf("spare plugin %d still running after Close", pids[0])
	}
}
