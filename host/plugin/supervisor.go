package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// State is a supervised plugin's condition, as /healthz reports it.
type State string

const (
	// StateRunning is a live process.
	StateRunning State = "running"
	// StateRestarting is between a crash and the new process answering.
	StateRestarting State = "restarting"
	// StateGivenUp is past the crash-loop limit: no more restarts.
	StateGivenUp State = "given_up"
	// StateStopped is after Stop.
	StateStopped State = "stopped"
)

// CrashLoop bounds restarts: more than MaxRestarts within Window gives up.
type CrashLoop struct {
	// MaxRestarts is how many restarts Window allows; zero means 5.
	MaxRestarts int
	// Window is the sliding window; zero means 5 minutes.
	Window time.Duration
	// BaseDelay and MaxDelay bound the jittered exponential wait before a
	// restart (the first restart of a window waits nothing); zero means
	// 200 ms and 5 s.
	BaseDelay, MaxDelay time.Duration
	// RestartAtStart starts the plugin again when its first start fails
	// because the process was killed by a signal (ErrKilledAtStartup),
	// counted against the same limit as restarts. A plugin that exits on
	// its own at start-up is not started again: that is not a crash.
	RestartAtStart bool
}

func (c CrashLoop) withDefaults() CrashLoop {
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = 5
	}
	if c.Window <= 0 {
		c.Window = 5 * time.Minute
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = 200 * time.Millisecond
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 5 * time.Second
	}
	return c
}

// ErrGivenUp is wrapped by the error of a connector past its crash-loop
// limit. Test with errors.Is.
var ErrGivenUp = errors.New("plugin given up after repeated crashes")

// Supervisor keeps one connector instance's plugin process alive: it
// starts it, restarts it when a call found it crashed or hung (a new
// go-plugin client, Configure with the connector's current config, and
// BeginWrite again for every write still open), gives up past the
// crash-loop limit, and health-pings it. It implements connector.Conn by
// delegating to the current process.
type Supervisor struct {
	launcher *Launcher
	typ      string
	instance string
	config   func() (json.RawMessage, error)
	logger   hclog.Logger
	loop     CrashLoop

	mu         sync.Mutex
	proc       *Process
	failed     *Process
	state      State
	restarts   []time.Time
	total      int
	openWrites map[string]sdk.WriteRequest
	lastStderr string
	stopPing   context.CancelFunc
}

// NewSupervisor returns a supervisor for the connector instance named
// instance of type typ. config returns the connector's config JSON each
// time the plugin is (re)configured, so refreshed secrets take effect.
func NewSupervisor(l *Launcher, typ, instance string, config func() (json.RawMessage, error), loop CrashLoop, logger hclog.Logger) *Supervisor {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Supervisor{launcher: l, typ: typ, instance: instance, config: config, loop: loop.withDefaults(),
		logger: logger, state: StateRestarting, openWrites: map[string]sdk.WriteRequest{}}
}

// SetCrashLoop replaces the crash-loop limit, for a caller that learns
// the connector's policy only once the plugin started (from its Spec).
// Restarts already counted stay counted.
func (s *Supervisor) SetCrashLoop(loop CrashLoop) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loop = loop.withDefaults()
}

// Start launches the first process. It does not configure it: the caller
// does, to see the field errors.
func (s *Supervisor) Start(ctx context.Context) error {
	for {
		p, err := s.launcher.Start(ctx, s.typ, s.instance)
		if err == nil {
			s.mu.Lock()
			s.proc = p
			s.state = StateRunning
			s.mu.Unlock()
			return nil
		}
		if !s.loop.RestartAtStart || !errors.Is(err, ErrKilledAtStartup) {
			return err
		}
		s.mu.Lock()
		s.lastStderr = stderrOf(err)
		aerr := s.admitRestart(ctx, time.Now())
		s.mu.Unlock()
		if aerr != nil {
			return aerr
		}
		s.logger.Warn("plugin was killed at start-up; starting it again", "connector", s.instance, "type", s.typ, "error", err.Error())
	}
}

// stderrOf returns the stderr lines a start error shows, or "".
func stderrOf(err error) string {
	const mark = "last lines of its stderr:\n"
	msg := err.Error()
	if i := strings.Index(msg, mark); i >= 0 {
		return msg[i+len(mark):]
	}
	return ""
}

// admitRestart counts a restart against the crash-loop limit: past it the
// supervisor gives up (the returned error says so); otherwise it waits the
// jittered backoff of the window's restarts so far. s.mu is held.
func (s *Supervisor) admitRestart(ctx context.Context, now time.Time) error {
	cut := now.Add(-s.loop.Window)
	kept := s.restarts[:0]
	for _, t := range s.restarts {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	s.restarts = kept
	if len(s.restarts) >= s.loop.MaxRestarts {
		s.state = StateGivenUp
		s.logger.Error("plugin crashed too often; giving up", "connector", s.instance,
			"restarts", len(s.restarts), "window", s.loop.Window)
		return s.givenUpError()
	}
	s.state = StateRestarting
	if n := len(s.restarts); n > 0 {
		d := s.loop.BaseDelay << (n - 1)
		if d > s.loop.MaxDelay || d <= 0 {
			d = s.loop.MaxDelay
		}
		d = time.Duration(rand.Int64N(int64(d) + 1))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.restarts = append(s.restarts, now)
	s.total++
	return nil
}

// Health is a supervised plugin's condition.
type Health struct {
	State    State
	Restarts int
	Pid      int
}

// Health returns the plugin's state and restart count.
func (s *Supervisor) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := Health{State: s.state, Restarts: s.total}
	if s.proc != nil {
		h.Pid = s.proc.Pid()
	}
	return h
}

// Pid returns the current process's id (0 when none).
func (s *Supervisor) Pid() int { return s.Health().Pid }

// Stop kills the process and ends supervision.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.state = StateStopped
	if s.stopPing != nil {
		s.stopPing()
	}
	s.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// WatchHealth pings the plugin every interval until ctx ends or Stop; a
// ping that fails or gets no answer within interval (at least 2 s; a hung
// or stopped process) kills the process, so the call in flight, or the next one,
// fails as a crash and Recover replaces it.
func (s *Supervisor) WatchHealth(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.stopPing = cancel
	s.mu.Unlock()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.mu.Lock()
			p := s.proc
			s.mu.Unlock()
			if p == nil {
				continue
			}
			// A busy machine can delay an answer; only a process that
			// stays silent for a whole interval, and at least 2 s, is hung.
			pctx, cancel := context.WithTimeout(ctx, max(interval, 2*time.Second))
			err := p.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				s.logger.Warn("plugin failed its health check; killing it", "connector", s.instance, "error", err)
				p.Kill()
			}
		}
	}()
}

// Recover replaces the process after a call found it crashed or hung. It
// is a no-op when the process that failed was already replaced. Past the
// crash-loop limit it returns a PERMANENT error wrapping ErrGivenUp that
// names the connector and shows the plugin's last stderr lines.
func (s *Supervisor) Recover(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateGivenUp {
		return s.givenUpError()
	}
	if s.state == StateStopped {
		return errclass.Permanentf("connector %q was stopped", s.instance)
	}
	if s.proc != nil && s.proc != s.failed && !s.proc.Exited() {
		return nil // already replaced by another caller
	}
	now := time.Now()
	if old := s.proc; old != nil {
		old.Kill() // returns once its stderr is drained
		if tail := old.StderrTail(); tail != "" {
			s.lastStderr = tail
		}
		s.proc = nil
	}
	if err := s.admitRestart(ctx, now); err != nil {
		return err
	}
	s.logger.Warn("restarting plugin", "connector", s.instance, "type", s.typ, "restart", s.total)
	p, err := s.launcher.Start(ctx, s.typ, s.instance)
	if err != nil {
		return errclass.Transientf("restart plugin of %q: %w", s.instance, err)
	}
	if err := s.configure(ctx, p); err != nil {
		p.Kill()
		if tail := p.StderrTail(); tail != "" {
			s.lastStderr = tail
		}
		return err
	}
	for _, w := range s.openWrites {
		if err := p.Client.BeginWrite(ctx, w); err != nil {
			p.Kill()
			return fmt.Errorf("reopen write %s after restart: %w", w.WriteID, err)
		}
	}
	s.proc = p
	s.failed = nil
	s.state = StateRunning
	s.logger.Info("plugin restarted", "connector", s.instance, "restart", s.total, "took", time.Since(now).Round(time.Millisecond))
	return nil
}

func (s *Supervisor) configure(ctx context.Context, p *Process) error {
	cfg, err := s.config()
	if err != nil {
		return errclass.Permanentf("configure %q after restart: %w", s.instance, err)
	}
	fe, err := p.Client.Configure(ctx, cfg)
	if err != nil {
		return fmt.Errorf("configure %q after restart: %w", s.instance, err)
	}
	if len(fe) > 0 {
		return errclass.Permanentf("configure %q after restart: %s", s.instance, fe[0])
	}
	return nil
}

// Refresh configures the running plugin again with a freshly resolved
// config (credential refresh).
func (s *Supervisor) Refresh(ctx context.Context) error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return errclass.Transientf("connector %q has no running plugin", s.instance)
	}
	return s.configure(ctx, p)
}

func (s *Supervisor) givenUpError() error {
	msg := fmt.Sprintf("connector %q (%s): %v: more than %d restarts within %v",
		s.instance, s.typ, ErrGivenUp, s.loop.MaxRestarts, s.loop.Window)
	if s.lastStderr != "" {
		msg += "\nlast lines of its stderr:\n" + s.lastStderr
	}
	return &errclass.Error{Class: errclass.Permanent, Err: fmt.Errorf("%s%w", msg, errGivenUpMarker{})}
}

// errGivenUpMarker lets errors.Is(err, ErrGivenUp) see through the
// formatted message.
type errGivenUpMarker struct{}

func (errGivenUpMarker) Error() string   { return "" }
func (errGivenUpMarker) Is(t error) bool { return t == ErrGivenUp }

// current returns the process to call, or an error when there is none.
func (s *Supervisor) current() (*Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == StateGivenUp:
		return nil, s.givenUpError()
	case s.proc == nil:
		msg := fmt.Sprintf("plugin of %q is not running", s.instance)
		if s.total > 0 {
			msg += fmt.Sprintf(" (restarted %d times)", s.total)
		}
		if s.lastStderr != "" {
			msg += "; last lines of its stderr:\n" + s.lastStderr
		}
		return nil, errclass.Wrap(errclass.Transient, &rpcclient.TransportError{Err: errors.New(msg)})
	}
	return s.proc, nil
}

// done records a call's outcome: a transport failure marks the process as
// failed so Recover replaces it.
func (s *Supervisor) done(p *Process, err error) error {
	if err != nil && rpcclient.IsTransport(err) {
		s.mu.Lock()
		if s.proc == p {
			s.failed = p
		}
		s.mu.Unlock()
	}
	return err
}

var _ connector.Conn = (*Supervisor)(nil)

// Spec calls the current process.
func (s *Supervisor) Spec(ctx context.Context) (sdk.Spec, error) {
	p, err := s.current()
	if err != nil {
		return sdk.Spec{}, err
	}
	r, err := p.Client.Spec(ctx)
	return r, s.done(p, err)
}

// Configure calls the current process.
func (s *Supervisor) Configure(ctx context.Context, cfg json.RawMessage) ([]sdk.FieldError, error) {
	p, err := s.current()
	if err != nil {
		return nil, err
	}
	r, err := p.Client.Configure(ctx, cfg)
	return r, s.done(p, err)
}

// Check calls the current process.
func (s *Supervisor) Check(ctx context.Context) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	return s.done(p, p.Client.Check(ctx))
}

// Discover calls the current process.
func (s *Supervisor) Discover(ctx context.Context) ([]sdk.Stream, error) {
	p, err := s.current()
	if err != nil {
		return nil, err
	}
	r, err := p.Client.Discover(ctx)
	return r, s.done(p, err)
}

// ReadPage calls the current process.
func (s *Supervisor) ReadPage(ctx context.Context, req sdk.ReadRequest) (connector.Page, error) {
	p, err := s.current()
	if err != nil {
		return connector.Page{}, err
	}
	r, err := p.Client.ReadPage(ctx, req)
	return r, s.done(p, err)
}

// BeginWrite calls the current process and remembers the write, so a
// restarted process gets BeginWrite again before the write's next batch.
func (s *Supervisor) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	if err := s.done(p, p.Client.BeginWrite(ctx, req)); err != nil {
		return err
	}
	s.mu.Lock()
	s.openWrites[req.WriteID] = req
	s.mu.Unlock()
	return nil
}

// WriteBatch calls the current process.
func (s *Supervisor) WriteBatch(ctx context.Context, id string, seq int64, rec []byte) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	return s.done(p, p.Client.WriteBatch(ctx, id, seq, rec))
}

// CommitWrite calls the current process and forgets the write.
func (s *Supervisor) CommitWrite(ctx context.Context, id string, state []byte) (map[string]string, error) {
	p, err := s.current()
	if err != nil {
		return nil, err
	}
	r, err := p.Client.CommitWrite(ctx, id, state)
	if err == nil {
		s.mu.Lock()
		delete(s.openWrites, id)
		s.mu.Unlock()
	}
	return r, s.done(p, err)
}

// AbortWrite calls the current process and forgets the write.
func (s *Supervisor) AbortWrite(ctx context.Context, id string) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	err = p.Client.AbortWrite(ctx, id)
	if err == nil {
		s.mu.Lock()
		delete(s.openWrites, id)
		s.mu.Unlock()
	}
	return s.done(p, err)
}

// CheckWrite calls the current process.
func (s *Supervisor) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	p, err := s.current()
	if err != nil {
		return "", err
	}
	r, err := p.Client.CheckWrite(ctx, req)
	return r, s.done(p, err)
}

// LoadState calls the current process.
func (s *Supervisor) LoadState(ctx context.Context, flow string) ([]byte, bool, error) {
	p, err := s.current()
	if err != nil {
		return nil, false, err
	}
	b, ok, err := p.Client.LoadState(ctx, flow)
	return b, ok, s.done(p, err)
}

// DeleteState calls the current process.
func (s *Supervisor) DeleteState(ctx context.Context, flow string) (bool, error) {
	p, err := s.current()
	if err != nil {
		return false, err
	}
	ok, err := p.Client.DeleteState(ctx, flow)
	return ok, s.done(p, err)
}
