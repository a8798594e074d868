package resilience_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	hostconn "github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// fakeConn is an in-process connector.Conn whose every method records the
// attempt and answers with script(n) for the n-th call (1-based, over all
// methods). A script returning errBlock blocks until the call's context
// ends and returns its error.
type fakeConn struct {
	mu        sync.Mutex
	script    func(n int) error
	hints     func(n int) *sdk.RateHints
	starts    []time.Time
	deadlines []time.Time // zero when the call had none
}

var errBlock = &blockErr{}

type blockErr struct{}

func (*blockErr) Error() string { return "block" }

func (f *fakeConn) do(ctx context.Context) (int, error) {
	f.mu.Lock()
	f.starts = append(f.starts, time.Now())
	dl, _ := ctx.Deadline()
	f.deadlines = append(f.deadlines, dl)
	n := len(f.starts)
	script := f.script
	f.mu.Unlock()
	var err error
	if script != nil {
		err = script(n)
	}
	if err == errBlock {
		<-ctx.Done()
		return n, ctx.Err()
	}
	return n, err
}

func (f *fakeConn) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts)
}

func (f *fakeConn) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.starts...)
}

func (f *fakeConn) Spec(ctx context.Context) (sdk.Spec, error) {
	_, err := f.do(ctx)
	return sdk.Spec{Name: "fake"}, err
}
func (f *fakeConn) Configure(ctx context.Context, _ json.RawMessage) ([]sdk.FieldError, error) {
	_, err := f.do(ctx)
	return nil, err
}
func (f *fakeConn) Check(ctx context.Context) error { _, err := f.do(ctx); return err }
func (f *fakeConn) Discover(ctx context.Context) ([]sdk.Stream, error) {
	_, err := f.do(ctx)
	return nil, err
}
func (f *fakeConn) ReadPage(ctx context.Context, _ sdk.ReadRequest) (hostconn.Page, error) {
	n, err := f.do(ctx)
	if err != nil {
		return hostconn.Page{}, err
	}
	p := hostconn.Page{Rows: 1, Checkpoint: []byte("x")}
	if f.hints != nil {
		p.RateHints = f.hints(n)
	}
	return p, nil
}
func (f *fakeConn) BeginWrite(ctx context.Context, _ sdk.WriteRequest) error {
	_, err := f.do(ctx)
	return err
}
func (f *fakeConn) WriteBatch(ctx context.Context, _ string, _ int64, _ []byte) error {
	_, err := f.do(ctx)
	return err
}
func (f *fakeConn) CommitWrite(ctx context.Context, _ string, _ []byte) (map[string]string, error) {
	_, err := f.do(ctx)
	return nil, err
}
func (f *fakeConn) AbortWrite(ctx context.Context, _ string) error {
	_, err := f.do(ctx)
	return err
}
func (f *fakeConn) CheckWrite(ctx context.Context, _ sdk.WriteRequest) (string, error) {
	_, err := f.do(ctx)
	return "", err
}
func (f *fakeConn) LoadState(ctx context.Context, _ string) ([]byte, bool, error) {
	_, err := f.do(ctx)
	return nil, false, err
}
func (f *fakeConn) DeleteState(ctx context.Context, _ string) (bool, error) {
	_, err := f.do(ctx)
	return false, err
}

// logBuf collects log lines; safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// messages returns the logged messages (hclog's "[LEVEL] message: k=v"
// with the level and key/values cut off), in order, without the debug
// lines of failed attempts (see attempts).
func (l *logBuf) messages() []string { return l.filter(false) }

// attempts returns the debug lines of failed attempts ("Operation 'read'
// attempt 1/3 failed (TRANSIENT): …"), in order.
func (l *logBuf) attempts() []string { return l.filter(true) }

func (l *logBuf) filter(attempts bool) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" || strings.Contains(line, "] Operation '") != attempts {
			continue
		}
		if i := strings.Index(line, "]"); i >= 0 {
			line = strings.TrimSpace(line[i+1:])
		}
		if i := strings.Index(line, ": connector="); i >= 0 {
			line = line[:i]
		}
		out = append(out, line)
	}
	return out
}

func (l *logBuf) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: l, Level: hclog.Debug, DisableTime: true})
}

// seq returns a Rand that yields vals in turn (then the last one again).
func seq(vals ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		v := vals[min(i, len(vals)-1)]
		i++
		return v
	}
}

// gaps returns the differences between consecutive times.
func gaps(ts []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i].Sub(ts[i-1]))
	}
	return out
}
