package sdktest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// BinaryPrefix is how every plugin binary's name starts: a connector of type
// "csv" is the executable sqlflow-plugin-csv.
const BinaryPrefix = "sqlflow-plugin-"

// buildTimeout bounds `go build` of a plugin: generous, because a cold
// build cache compiles arrow-go and gRPC.
const buildTimeout = 10 * time.Minute

// startTimeout bounds a plugin's start and handshake in [Start].
const startTimeout = 30 * time.Second

// stderrKeep is how many bytes of a plugin's stderr [Plugin] keeps for
// failure messages (the last ones).
const stderrKeep = 64 << 10

// BuildPlugin compiles the main package in pkgDir with `go build` (the go
// command found on PATH) into t.TempDir() and returns the binary's path. The
// binary is named sqlflow-plugin-<name> after the last element of pkgDir's
// absolute path ("plugins/csv" gives sqlflow-plugin-csv), or after the
// element itself when it already starts with sqlflow-plugin-. A failed build
// fails t with the compiler's output.
func BuildPlugin(t testing.TB, pkgDir string) string {
	t.Helper()
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		t.Fatalf("sdktest: build plugin %s: %v", pkgDir, err)
	}
	name := filepath.Base(abs)
	if !strings.HasPrefix(name, BinaryPrefix) {
		name = BinaryPrefix + name
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("sdktest: build plugin %s: the go command is not on PATH: %v", pkgDir, err)
	}
	out := filepath.Join(t.TempDir(), name)
	if filepath.Ext(goBin) == ".exe" {
		out += ".exe"
	}
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, ".")
	cmd.Dir = abs
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sdktest: go build %s: %v\n%s", abs, err, msg)
	}
	return out
}

// Plugin is one plugin process started by [Start], spoken to over real
// go-plugin gRPC (AutoMTLS, the protocol's handshake and message size cap),
// as the host speaks to it.
type Plugin struct {
	// Client calls the plugin. Its calls fail with a TRANSIENT
	// rpcclient.TransportError once the process is gone.
	Client *rpcclient.Client
	// Binary is the path the process was started from.
	Binary string

	client *goplugin.Client
	stderr *tailBuffer
	pid    int
	once   sync.Once
}

// Start launches the plugin binary bin, performs the go-plugin handshake and
// returns the running process. A failed start fails t with the plugin's
// stderr. The process is stopped when t's test ends (t.Cleanup); if the
// test failed, the plugin's stderr (its last 64 KiB) is logged then.
func Start(t testing.TB, bin string) *Plugin {
	t.Helper()
	p, err := start(bin)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			if s := p.Stderr(); s != "" {
				t.Logf("stderr of plugin %s (pid %d):\n%s", filepath.Base(bin), p.pid, s)
			}
		}
	})
	return p
}

func start(bin string) (*Plugin, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("start plugin: %w", err)
	}
	stderr := &tailBuffer{max: stderrKeep}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  protocol.Handshake(),
		Plugins:          protocol.PluginSet(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
		Stderr:           stderr,
		StartTimeout:     startTimeout,
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(
				grpc.MaxCallRecvMsgSize(arrowipc.MaxMessageSize),
				grpc.MaxCallSendMsgSize(arrowipc.MaxMessageSize),
				grpc.ForceCodecV2(protocol.NewCodec()),
			),
			// The host is the only layer of retries; so is the kit.
			grpc.WithDisableRetry(),
		},
	})
	p := &Plugin{Binary: bin, client: client, stderr: stderr}
	fail := func(err error) (*Plugin, error) {
		p.stop()
		err = fmt.Errorf("start plugin %s: %w", bin, err)
		if s := stderr.String(); s != "" {
			err = fmt.Errorf("%w\nits stderr:\n%s", err, s)
		}
		return nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	raw, err := rpc.Dispense(protocol.PluginName)
	if err != nil {
		return fail(err)
	}
	conn, ok := raw.(*grpc.ClientConn)
	if !ok {
		return fail(fmt.Errorf("unexpected client type %T", raw))
	}
	p.Client = rpcclient.New(conn)
	return p, nil
}

// Kill ends the plugin process abruptly with SIGKILL (on Windows,
// TerminateProcess), the way a crash or an OOM kill ends it: the connector
// gets no chance to flush or clean up. Calls through Client fail afterwards.
// Safe to call more than once and after the test's cleanup.
func (p *Plugin) Kill() {
	if p.pid > 0 {
		if proc, err := os.FindProcess(p.pid); err == nil {
			_ = proc.Kill()
		}
	}
	p.stop()
}

// Close stops the plugin the way a host does at the end of a run: it
// closes the connection and lets the process exit (forcing it after a short
// grace period). Safe to call more than once.
func (p *Plugin) Close() { p.stop() }

// stop closes the connection and stops the process (go-plugin's graceful
// kill, then a forced one).
func (p *Plugin) stop() {
	p.once.Do(p.client.Kill)
}

// Exited reports whether the plugin process has exited.
func (p *Plugin) Exited() bool { return p.client.Exited() }

// Pid returns the plugin's process id, or 0 when unknown.
func (p *Plugin) Pid() int { return p.pid }

// Stderr returns the last 64 KiB the plugin wrote to its stderr (its log).
func (p *Plugin) Stderr() string { return p.stderr.String() }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.TrimSpace(b.buf))
}
