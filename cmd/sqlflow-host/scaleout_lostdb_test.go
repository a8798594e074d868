package main

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// tcpProxy forwards loopback connections to a target and can cut them
// all (and refuse new ones) until restored: a database lost and back.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *tcpProxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

// A worker whose database goes away keeps running, logs that it retries
// with backoff, and works jobs again once the database is back.
func TestWorkerSurvivesLostDB(t *testing.T) {
	dsn := testenv.Postgres(t)
	bin := hostBinary(t)
	schema := jobSchema(t, dsn, "so_lost")
	// The test server's address, reached through the proxy.
	host := strings.TrimPrefix(dsn, "postgres://")
	host = host[strings.Index(host, "@")+1:]
	host = host[:strings.IndexAny(host, "/?")]
	proxy := newTCPProxy(t, host)
	viaProxy := strings.Replace(dsn, host, proxy.addr, 1)

	// Migrate first, directly, so that the worker starts at once.
	expect(t, cli(t, "jobs", "list", "--db", dsn, "--db-schema", schema), 0)
	w := startWorker(t, bin, viaProxy, schema, "lost")
	waitFor(t, time.Minute, "the worker to start", func() bool { return strings.Contains(w.logText(t), "worker started") })
	proxy.cut()
	waitFor(t, time.Minute, "the worker to log the lost database", func() bool {
		return strings.Contains(w.logText(t), "job database unreachable; retrying")
	})
	select {
	case err := <-w.done:
		t.Fatalf("the worker exited when its database went away: %v\n%s", err, w.logText(t))
	default:
	}
	proxy.restore(t)
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", "version: 1\nname: lost\nsources:\n  s: {type: memory, rows: [{id: 1}, {id: 2}]}\ndestinations:\n  d: {type: csv, path: out}\nflows:\n  - {name: f, from: s, to: d, target: f.csv}\n")
	expect(t, cli(t, "submit", p, "--db", dsn, "--db-schema", schema), 0, "enqueued")
	waitFor(t, 2*time.Minute, "the job to complete after the database came back", func() bool {
		return pgValue[int64](t, dsn, "SELECT count(*) FROM "+schema+".river_job WHERE state = 'completed'") == 1
	})
}
