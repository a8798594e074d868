package testenv

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// PasswordServer is a PostgreSQL server on loopback that asks every client
// for a cleartext password and refuses it with SQLSTATE 28P01, as a server
// with password authentication does for a wrong password. The test server
// of this repository trusts every local connection, so a real wrong
// password cannot be provoked there.
type PasswordServer struct {
	// Addr is the server's host:port.
	Addr string
	// Passwords receives the passwords clients sent (up to 16 unread).
	Passwords <-chan string

	conns atomic.Int32
}

// Connections returns how many clients have sent a startup message: each
// is one connection attempt of a client.
func (s *PasswordServer) Connections() int { return int(s.conns.Load()) }

// NewPasswordServer starts a PasswordServer, stopped when t ends.
func NewPasswordServer(t testing.TB) *PasswordServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 16)
	s := &PasswordServer{Addr: ln.Addr().String(), Passwords: got}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, got)
		}
	}()
	return s
}

func (s *PasswordServer) serve(c net.Conn, got chan<- string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	be := pgproto3.NewBackend(c, c)
	msg, err := be.ReceiveStartupMessage()
	if err != nil {
		return
	}
	if _, ok := msg.(*pgproto3.SSLRequest); ok {
		c.Write([]byte("N"))
		if msg, err = be.ReceiveStartupMessage(); err != nil {
			return
		}
	}
	sm, ok := msg.(*pgproto3.StartupMessage)
	if !ok {
		return
	}
	s.conns.Add(1)
	be.Send(&pgproto3.AuthenticationCleartextPassword{})
	be.Flush()
	be.SetAuthType(pgproto3.AuthTypeCleartextPassword)
	pm, err := be.Receive()
	if err != nil {
		return
	}
	if p, ok := pm.(*pgproto3.PasswordMessage); ok {
		select {
		case got <- p.Password:
		default:
		}
	}
	be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01",
		Message: fmt.Sprintf("password authentication failed for user %q", sm.Parameters["user"])})
	be.Flush()
}
