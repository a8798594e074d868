package main

import (
	"bytes"
	"io"
	"sync"

	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
)

// redactor hides secrets from everything the host prints, logs included:
// the secret values of the pipeline's connectors once it is loaded, the
// userinfo of URLs, and credential-looking fields (httpclass.Redactor).
// It is the last line of defence; connectors and the host's own messages
// already avoid printing secrets.
type redactor struct {
	mu sync.Mutex
	r  *httpclass.Redactor
}

// set makes secrets the values hidden from then on.
func (x *redactor) set(secrets []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.r = httpclass.NewRedactor(secrets...)
}

func (x *redactor) redact(b []byte) []byte {
	x.mu.Lock()
	r := x.r
	x.mu.Unlock()
	return []byte(r.Redact(string(b)))
}

// writer returns w with every write redacted. Writes are redacted one by
// one: the host writes whole lines (log entries, summary lines).
func (x *redactor) writer(w io.Writer) io.Writer { return &redactingWriter{x: x, w: w} }

type redactingWriter struct {
	x *redactor
	w io.Writer
}

func (w *redactingWriter) Write(p []byte) (int, error) {
	out := w.x.redact(p)
	if bytes.Equal(out, p) {
		return w.w.Write(p)
	}
	if _, err := w.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
