package plugin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// DefaultStartTimeout bounds how long a plugin may take to print its
// handshake. A file that is not a plugin and never prints one is reported
// after it, not waited on forever.
const DefaultStartTimeout = 20 * time.Second

// ErrKilledAtStartup is wrapped by the error of a start whose plugin
// process was killed by a signal before it completed the handshake (the
// OOM killer, an operator, a chaos test): a crash, unlike a plugin that
// exits with a status of its own. Test with errors.Is.
var ErrKilledAtStartup = errors.New("plugin killed by a signal at start-up")

// stderrLines is how many of a plugin's last stderr lines are kept for
// error messages.
const stderrLines = 20

// Launcher starts plugin processes from one plugins directory.
type Launcher struct {
	// Dir is the plugins directory.
	Dir Dir
	// Lock pins binaries' hashes; nil means no lock file.
	Lock Lock
	// Logger receives each plugin's stderr under "<instance>" names.
	Logger hclog.Logger
	// StructuredPluginLogs keeps the fields of a plugin's log lines as
	// the Logger's fields (for a JSON log) instead of writing them into
	// the line's message as plain text (see pluginLogger).
	StructuredPluginLogs bool
	// WithoutMTLS turns go-plugin's AutoMTLS off, so the host speaks plain
	// gRPC to its plugins over the Unix socket. Only benchmarks set it, to
	// measure what TLS costs (bench/: BenchmarkE2EMTLS); the CLI never
	// does.
	WithoutMTLS bool
	// StartTimeout bounds the handshake; zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// WorkDir is the working directory of every plugin process: the
	// pipeline file's directory, so that the relative paths in connector
	// settings are relative to the file wherever the host runs from.
	// Empty means the host's own working directory.
	WorkDir string
	// Perms is the rule for the binaries, the lock file and their
	// directories; the zero value refuses every problem.
	Perms Perms

	mu sync.Mutex
	// declared holds, by binary path, the environment variables each
	// plugin's Spec declares (sdk.Spec.Env), learnt at its first start.
	declared map[string][]string
	// specs holds, by binary path, each plugin's Spec, learnt at its
	// first start.
	specs map[string]sdk.Spec
	// aliases maps the aliases found by Find to their binaries' paths.
	aliases map[string]string
	// scanMu makes Find's alias scans one at a time.
	scanMu sync.Mutex
	// spares are processes Prestart started, by binary and instance,
	// waiting for that instance's Start.
	spares map[spareKey]*Process
	// runDir holds the plugins' Unix sockets; created by the first Start,
	// removed by Close.
	runDir string
}

// Option configures a Launcher made by NewLauncher.
type Option func(*Launcher)

// WithPerms sets the launcher's permission rule (see [Perms]); a nil
// Perms.Logger means the launcher's logger.
func WithPerms(p Perms) Option { return func(l *Launcher) { l.Perms = p } }

// NewLauncher returns a launcher for dir, reading dir's lock file if any
// (checked as the launcher's Perms say). Close it when done.
func NewLauncher(dir Dir, logger hclog.Logger, opts ...Option) (*Launcher, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	l := &Launcher{Dir: dir, Logger: logger}
	for _, o := range opts {
		o(l)
	}
	if l.Perms.Logger == nil {
		l.Perms.Logger = logger
	}
	if l.Perms.warned == nil {
		l.Perms.warned = &warnedSet{}
	}
	lock, err := ReadLock(dir, l.Perms)
	if err != nil {
		return nil, err
	}
	l.Lock = lock
	return l, nil
}

// socketDir returns the launcher's private directory for its plugins'
// Unix sockets, creating it (and removing those of dead hosts) the first
// time.
func (l *Launcher) socketDir() (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.runDir == "" {
		d, err := newRunDir(os.TempDir(), l.logger())
		if err != nil {
			return "", err
		}
		l.runDir = d
	}
	return l.runDir, nil
}

// SocketDir returns the directory of the plugins' Unix sockets, or "" when
// no plugin was started since the launcher was made or closed.
func (l *Launcher) SocketDir() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.runDir
}

// Close stops the processes Prestart left that no Start took, and
// removes the launcher's socket directory. Call it once the plugins it
// started are stopped; a later Start makes a new directory.
func (l *Launcher) Close() error {
	l.StopSpares()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.runDir == "" {
		return nil
	}
	err := os.RemoveAll(l.runDir)
	l.runDir = ""
	if err != nil {
		return fmt.Errorf("remove the plugin socket directory: %w", err)
	}
	return nil
}

func (l *Launcher) logger() hclog.Logger {
	if l.Logger == nil {
		return hclog.NewNullLogger()
	}
	return l.Logger
}

// Process is one running plugin process.
type Process struct {
	// Type is the connector type; Instance the connector's name in the
	// pipeline.
	Type, Instance string
	// Client calls the plugin.
	Client *rpcclient.Client

	client *goplugin.Client
	conn   *grpc.ClientConn
	stderr *ringWriter
	cmd    *exec.Cmd
	once   sync.Once
}

// Start launches the plugin for typ (a type name, or an alias a plugin's
// Spec declares: see Find) as the connector instance named instance,
// verifies it (permissions, lock), performs the handshake and returns the
// running process. ctx bounds only the start.
//
// The process gets a clean environment: the host's variables of the
// allow-list (AllowedEnv) and those its Spec declares (sdk.Spec.Env),
// nothing else. A binary's Spec is learnt at its first start and kept
// (see Spec): when the host has variables it declares, that first process
// is stopped and started again with them (once per binary and Launcher).
func (l *Launcher) Start(ctx context.Context, typ, instance string) (*Process, error) {
	bin, err := l.Find(ctx, typ)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if p, ok := l.spares[spareKey{bin.Path, instance}]; ok {
		delete(l.spares, spareKey{bin.Path, instance})
		l.mu.Unlock()
		p.Type = typ
		return p, nil
	}
	declared, known := l.declared[bin.Path]
	l.mu.Unlock()
	p, err := l.start(ctx, bin, typ, instance, declared)
	if err != nil || known {
		return p, err
	}
	spec, err := p.Client.Spec(ctx)
	if err != nil {
		return p, nil // the caller's own Spec call reports it
	}
	env := l.learn(bin, typ, spec)
	if !declaresMore(os.Environ(), env) {
		return p, nil
	}
	p.Kill()
	return l.start(ctx, bin, typ, instance, env)
}

// learn keeps what a binary's Spec says, and returns the environment
// variables it declares.
func (l *Launcher) learn(bin Binary, typ string, spec sdk.Spec) []string {
	var env []string
	for _, name := range spec.Env {
		if strings.TrimSuffix(name, "*") == "" {
			l.logger().Warn("plugin declares the whole environment (\"*\"); it gets the allow-list only", "plugin", typ)
			continue
		}
		env = append(env, name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.declared == nil {
		l.declared = map[string][]string{}
		l.specs = map[string]sdk.Spec{}
	}
	l.declared[bin.Path] = env
	l.specs[bin.Path] = spec
	return env
}

// Spec returns the Spec of the plugin serving typ (a type name or an
// alias). It is asked once per binary and Launcher: a plugin started
// before answers from what was learnt then; otherwise the plugin is
// started, asked and stopped.
func (l *Launcher) Spec(ctx context.Context, typ string) (sdk.Spec, error) {
	bin, err := l.Find(ctx, typ)
	if err != nil {
		return sdk.Spec{}, err
	}
	return l.specOf(ctx, bin)
}

// StopSpares stops the processes Prestart left that no Start took (an
// engine done with its pipeline calls it; Close does too).
func (l *Launcher) StopSpares() {
	l.mu.Lock()
	spares := l.spares
	l.spares = nil
	l.mu.Unlock()
	for _, p := range spares {
		p.Kill()
	}
}

// spareKey names a process Prestart left for an instance's Start.
type spareKey struct{ path, instance string }

// Prestart learns the Spec of the plugin serving typ ahead of the start
// of the connector instance named instance, for a caller that needs the
// Specs of all its types before starting anything. When the Spec is not
// known yet the plugin is started as instance and asked; the process is
// then kept for that instance's Start, which takes it instead of starting
// another (unless its Spec declares environment variables the host has:
// it is then stopped, and Start starts one with them). So learning the
// Specs first costs no extra process. Close stops a process no Start took.
func (l *Launcher) Prestart(ctx context.Context, typ, instance string) (sdk.Spec, error) {
	bin, err := l.Find(ctx, typ)
	if err != nil {
		return sdk.Spec{}, err
	}
	l.mu.Lock()
	spec, known := l.specs[bin.Path]
	l.mu.Unlock()
	if known {
		return spec, nil
	}
	p, err := l.start(ctx, bin, typ, instance, nil)
	if err != nil {
		return sdk.Spec{}, err
	}
	spec, err = p.Client.Spec(ctx)
	if err != nil {
		p.Kill()
		return sdk.Spec{}, fmt.Errorf("plugin %s (%s): spec: %w", bin.Type, bin.Path, err)
	}
	env := l.learn(bin, typ, spec)
	k := spareKey{bin.Path, instance}
	l.mu.Lock()
	_, taken := l.spares[k]
	keep := !taken && !declaresMore(os.Environ(), env)
	if keep {
		if l.spares == nil {
			l.spares = map[spareKey]*Process{}
		}
		l.spares[k] = p
	}
	l.mu.Unlock()
	if !keep {
		p.Kill()
	}
	return spec, nil
}

// CachedSpec returns the Spec of the plugin serving typ when the Launcher
// learnt it already (a Start or Spec of that binary), without starting
// anything.
func (l *Launcher) CachedSpec(typ string) (sdk.Spec, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	path, ok := l.aliases[typ]
	if !ok {
		path = filepath.Join(l.Dir.Path, BinaryPrefix+typ)
	}
	spec, ok := l.specs[path]
	return spec, ok
}

// specOf returns bin's Spec, starting it once when it is not known yet.
func (l *Launcher) specOf(ctx context.Context, bin Binary) (sdk.Spec, error) {
	l.mu.Lock()
	spec, ok := l.specs[bin.Path]
	l.mu.Unlock()
	if ok {
		return spec, nil
	}
	p, err := l.start(ctx, bin, bin.Type, bin.Type, nil)
	if err != nil {
		return sdk.Spec{}, err
	}
	defer p.Kill()
	spec, err = p.Client.Spec(ctx)
	if err != nil {
		return sdk.Spec{}, fmt.Errorf("plugin %s (%s): spec: %w", bin.Type, bin.Path, err)
	}
	l.learn(bin, bin.Type, spec)
	return spec, nil
}

// aliasScanTimeout bounds starting one plugin to read its aliases.
const aliasScanTimeout = 10 * time.Second

// Find returns the plugin binary serving typ: the one named after it
// (sqlflow-plugin-<typ>), else the one whose Spec lists typ among its
// Aliases. Aliases are older type names (a built-in's or a third party's
// alike) and no binary carries them in its name, so the first lookup of
// a name no binary has asks the Spec of every plugin in the directory
// (each once per Launcher; a plugin that does not start is skipped). When
// no plugin serves typ, the error is Find's: it wraps ErrUnknownType and
// lists the plugins found.
func (l *Launcher) Find(ctx context.Context, typ string) (Binary, error) {
	bin, err := Find(l.Dir, typ)
	if err == nil || !errors.Is(err, ErrUnknownType) {
		return bin, err
	}
	l.scanMu.Lock()
	defer l.scanMu.Unlock()
	l.mu.Lock()
	path, ok := l.aliases[typ]
	l.mu.Unlock()
	bins, lerr := List(l.Dir)
	if lerr != nil {
		return Binary{}, err
	}
	if ok {
		for _, b := range bins {
			if b.Path == path {
				return b, nil
			}
		}
	}
	for _, b := range bins {
		sctx, cancel := context.WithTimeout(ctx, aliasScanTimeout)
		spec, serr := l.specOf(sctx, b)
		cancel()
		if serr != nil {
			l.logger().Debug("plugin skipped while looking for an alias", "type", typ, "plugin", b.Type, "error", serr.Error())
			continue
		}
		for _, a := range spec.Aliases {
			if a == typ {
				l.mu.Lock()
				if l.aliases == nil {
					l.aliases = map[string]string{}
				}
				l.aliases[typ] = b.Path
				l.mu.Unlock()
				return b, nil
			}
		}
	}
	return Binary{}, err
}

// start starts bin as typ with the declared environment known (nil:
// none).
func (l *Launcher) start(ctx context.Context, bin Binary, typ, instance string, declared []string) (*Process, error) {
	if err := CheckPermissions(l.Dir, bin, l.Perms); err != nil {
		return nil, err
	}
	var secure *goplugin.SecureConfig
	if sum, err := l.Lock.Verify(l.Dir, bin); err != nil {
		return nil, err
	} else if sum != nil {
		secure = &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}

	path := bin.Path
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // exec resolves a relative path against cmd.Dir
	}
	sockets, err := l.socketDir()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path)
	cmd.Dir = l.WorkDir
	// The plugin's environment is built here (SkipHostEnv): the allow-list
	// and what its Spec declares, never the rest of the host's (secrets).
	// go-plugin v1.8.0 uses UnixSocketConfig.TempDir only with a RunnerFunc;
	// with a plain command the plugin reads PLUGIN_UNIX_SOCKET_DIR and would
	// otherwise make its socket in the system temp directory, so it is set
	// here too, and a PLUGIN_UNIX_SOCKET_DIR set for the host cannot
	// override it.
	cmd.Env = socketEnv(pluginEnv(os.Environ(), declared), sockets)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
	ring := newRingWriter(stderrLines)
	timeout := l.StartTimeout
	if timeout == 0 {
		timeout = DefaultStartTimeout
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	codec := protocol.NewCodec()
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  protocol.Handshake(),
		Plugins:          protocol.PluginSet(),
		Cmd:              cmd,
		SkipHostEnv:      true,
		UnixSocketConfig: &goplugin.UnixSocketConfig{TempDir: sockets},
		SecureConfig:     secure,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         !l.WithoutMTLS,
		Logger:           pluginLogger{l.Logger.Named(instance), l.StructuredPluginLogs},
		Stderr:           ring,
		// After the handshake go-plugin moves the plugin's os.Stdout and
		// os.Stderr onto a gRPC stream; without these its writes would be
		// lost. Both reach the host log, stderr also the kept lines.
		SyncStderr:   io.MultiWriter(ring, &lineLogger{log: l.Logger.Named(instance), prefix: "stderr"}),
		SyncStdout:   &lineLogger{log: l.Logger.Named(instance), prefix: "stdout"},
		StartTimeout: timeout,
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(
				grpc.MaxCallRecvMsgSize(arrowipc.MaxMessageSize),
				grpc.MaxCallSendMsgSize(arrowipc.MaxMessageSize),
				grpc.ForceCodecV2(codec),
			),
			// One layer of retries, the host's: gRPC must not repeat calls.
			grpc.WithDisableRetry(),
		},
	})
	p := &Process{Type: typ, Instance: instance, client: client, stderr: ring, cmd: cmd}
	rpc, err := client.Client()
	if err != nil {
		p.Kill()
		return nil, l.startError(bin, p, err)
	}
	raw, err := rpc.Dispense(protocol.PluginName)
	if err != nil {
		p.Kill()
		return nil, l.startError(bin, p, err)
	}
	conn, ok := raw.(*grpc.ClientConn)
	if !ok {
		p.Kill()
		return nil, fmt.Errorf("plugin %s (%s): unexpected client type %T", typ, bin.Path, raw)
	}
	p.conn = conn
	p.Client = rpcclient.NewWithCodec(conn, codec)
	// gRPC connects lazily: one health check now turns a plugin that
	// cannot be spoken to into a start error that says why.
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.Ping(pctx); err != nil {
		p.Kill()
		return nil, l.pingError(bin, p, err)
	}
	return p, nil
}

// otherLanguagesDoc is where the protocol is written down for a plugin
// not built with the SDK.
const otherLanguagesDoc = "docs/plugin-sdk.md, \"Plugins in other languages\""

// pingError explains a plugin that completed the handshake but failed the
// first health check.
func (l *Launcher) pingError(bin Binary, p *Process, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "first record does not look like a TLS handshake"),
		strings.Contains(msg, "authentication handshake failed"):
		msg = "it serves plain gRPC, but the host speaks TLS (go-plugin AutoMTLS): the plugin must read the host's certificate " +
			"from PLUGIN_CLIENT_CERT, serve TLS with a certificate of its own that requires and trusts that client certificate, " +
			"and end its handshake line with its own certificate (base64 of the DER bytes) as the sixth field; see " + otherLanguagesDoc +
			" (" + firstLine(msg) + ")"
	case status.Code(err) == codes.Unimplemented || status.Code(err) == codes.NotFound:
		msg = "it does not serve gRPC's health service (grpc.health.v1.Health reporting \"plugin\" as SERVING), which the host uses to tell a hung plugin; see " +
			otherLanguagesDoc + " (" + firstLine(msg) + ")"
	default:
		msg = "it completed the handshake but does not answer: " + firstLine(msg)
	}
	err = fmt.Errorf("start plugin %s (%s): %s", bin.Type, bin.Path, msg)
	if tail := p.StderrTail(); tail != "" {
		err = fmt.Errorf("%w\nlast lines of its stderr:\n%s", err, tail)
	}
	return err
}

// startError explains a failed start in a user's words, with the plugin's
// last stderr lines.
func (l *Launcher) startError(bin Binary, p *Process, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, goplugin.ErrChecksumsDoNotMatch):
		msg = "its SHA-256 no longer matches " + LockFileName + "; run `sqlflow-host plugins lock` again if the change is yours"
	case strings.Contains(strings.ToLower(msg), "incompatible api version"):
		msg = fmt.Sprintf("it speaks another connector protocol version than this host (version %d): %s; rebuild the plugin against a matching sdk",
			protocol.Version, firstLine(msg))
	case strings.Contains(msg, "Failed to read any lines from plugin's stdout"),
		strings.Contains(msg, "plugin exited before we could connect"):
		msg = "it exited at start-up"
		if sig, ok := p.signal(); ok {
			err = fmt.Errorf("start plugin %s (%s): it was killed by signal %v at start-up: %w", bin.Type, bin.Path, sig, ErrKilledAtStartup)
			if tail := p.StderrTail(); tail != "" {
				err = fmt.Errorf("%w\nlast lines of its stderr:\n%s", err, tail)
			}
			return err
		}
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		msg = "it is not a sqlflow-host plugin (no go-plugin handshake on its stdout): " + firstLine(msg)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		msg = "it did not complete the plugin handshake in time; is it a sqlflow-host plugin?"
	}
	err = fmt.Errorf("start plugin %s (%s): %s", bin.Type, bin.Path, msg)
	if tail := p.StderrTail(); tail != "" {
		err = fmt.Errorf("%w\nlast lines of its stderr:\n%s", err, tail)
	}
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// StderrTail returns the plugin's last stderr lines, indented, or "".
func (p *Process) StderrTail() string {
	lines := p.stderr.Lines()
	if len(lines) == 0 {
		return ""
	}
	return "  " + strings.Join(lines, "\n  ")
}

// Ping checks, within ctx, that the plugin process answers go-plugin's gRPC
// health check. A hung (or stopped) process fails it at ctx's deadline.
func (p *Process) Ping(ctx context.Context) error {
	if p.conn == nil {
		return fmt.Errorf("plugin %s is not running", p.Instance)
	}
	_, err := grpc_health_v1.NewHealthClient(p.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	return err
}

// signal returns the signal that ended the plugin's process, once it has
// exited; false while it runs or when it exited with a status.
func (p *Process) signal() (syscall.Signal, bool) {
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return 0, false
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}

// Exited reports whether the plugin process has exited.
func (p *Process) Exited() bool { return p.client.Exited() }

// Pid returns the plugin's process id, or 0 when it never started.
func (p *Process) Pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// killGrace is how long Kill lets go-plugin's graceful shutdown run before
// it SIGKILLs the plugin's process group.
const killGrace = 3 * time.Second

// Kill stops the plugin: go-plugin's graceful kill, and after killGrace at
// the latest SIGKILL to the plugin's whole process group, so nothing it
// started survives (and a child holding its stdout cannot make Kill hang).
// It returns once the process is gone. Safe to call more than once.
func (p *Process) Kill() {
	p.once.Do(func() {
		done := make(chan struct{})
		go func() {
			p.client.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(killGrace):
		}
		if pid := p.Pid(); pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		<-done
	})
}

// ringWriter keeps the last n lines written to it.
type ringWriter struct {
	mu    sync.Mutex
	n     int
	lines []string
	part  []byte
}

func newRingWriter(n int) *ringWriter { return &ringWriter{n: n} }

func (r *ringWriter) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range b {
		if c == '\n' {
			r.push(string(r.part))
			r.part = r.part[:0]
			continue
		}
		if len(r.part) < 4096 {
			r.part = append(r.part, c)
		}
	}
	return len(b), nil
}

func (r *ringWriter) push(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	r.lines = append(r.lines, line)
	if len(r.lines) > r.n {
		r.lines = r.lines[len(r.lines)-r.n:]
	}
}

// Lines returns the kept lines, oldest first, plus an unterminated last one.
func (r *ringWriter) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.lines...)
	if len(r.part) > 0 {
		out = append(out, string(r.part))
	}
	return out
}

// lineLogger logs each complete line written to it.
type lineLogger struct {
	mu     sync.Mutex
	log    hclog.Logger
	prefix string
	part   []byte
}

func (w *lineLogger) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, b...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.part[:i])); line != "" {
			w.log.Info(line, "stream", w.prefix)
		}
		w.part = w.part[i+1:]
	}
	if len(w.part) > 64<<10 {
		w.part = w.part[:0]
	}
	return len(b), nil
}
