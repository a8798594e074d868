package sdk

// This file is the plugin side of the connector protocol: a gRPC service
// that converts wire messages to sdk types, calls the connector and
// converts its answers back. Proto types stop here and in convert.go.

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
)

// server serves one connector over gRPC.
type server struct {
	pb.UnimplementedConnectorServer
	conn   Connector
	src    Source
	dst    Destination
	spec   Spec
	logger hclog.Logger
	// lender, when set, holds the buffers pages are encoded into (the
	// gRPC server's codec; see Serve).
	lender lender

	// stdio, when set, is run once at the first call: it points the
	// process's os.Stdout and os.Stderr back at file descriptor 2 (see
	// Serve).
	stdio     func()
	stdioOnce sync.Once

	// aheader is the source when it may allow read-ahead; ahead is the
	// read-ahead's state (see readahead.go).
	aheader ReadAheader
	ahead   readAhead
}

// newServer returns a server for conn. The spec's roles and protocol version are
// filled in from the interfaces conn implements.
func newServer(conn Connector, logger hclog.Logger) *server {
	s := &server{conn: conn, logger: logger}
	s.src, _ = conn.(Source)
	s.dst, _ = conn.(Destination)
	s.spec = FullSpec(conn)
	s.aheader, _ = conn.(ReadAheader)
	return s
}

// FullSpec returns conn's Spec with the roles and protocol version the SDK
// knows better than the connector.
func FullSpec(conn Connector) Spec {
	spec := conn.Spec()
	_, spec.Source = conn.(Source)
	_, spec.Destination = conn.(Destination)
	spec.ProtocolVersion = ProtocolVersion
	if spec.ResilienceClass == "" {
		spec.ResilienceClass = ResilienceNetwork
	}
	if spec.Destination && len(spec.WriteModes) == 0 {
		spec.WriteModes = []WriteMode{ModeReplace, ModeAppend}
	}
	return spec
}

// enter runs the stdio hook once, at the first call of the host, and
// keeps the call apart from a read-ahead (see readahead.go) until the
// function it returns is called.
func (s *server) enter() (leave func()) {
	s.first()
	if s.aheader == nil {
		return func() {}
	}
	s.ahead.gate.RLock()
	return s.ahead.gate.RUnlock
}

// first runs the stdio hook once, at the first call of the host.
func (s *server) first() {
	if s.stdio != nil {
		s.stdioOnce.Do(s.stdio)
	}
}

// guard turns a panic inside a handler into a PERMANENT error carrying the
// panic text, and logs the stack to stderr; the process stays up.
func (s *server) guard(op string, err *error) {
	if r := recover(); r != nil {
		s.logger.Error("connector panicked", "operation", op, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = toStatus(errclass.Permanentf("connector %s panicked in %s: %v", s.spec.Name, op, r))
	}
}

func (s *server) Spec(ctx context.Context, _ *pb.SpecRequest) (_ *pb.SpecResponse, err error) {
	defer s.guard("spec", &err)
	defer s.enter()()
	resp, err := toSpecResponse(s.spec)
	if err != nil {
		return nil, toStatus(errclass.Permanentf("connector %s: %w", s.spec.Name, err))
	}
	return resp, nil
}

func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (_ *pb.ConfigureResponse, err error) {
	defer s.guard("configure", &err)
	defer s.enter()()
	ferrs, err := s.conn.Configure(ctx, req.GetConfigJson())
	if err != nil {
		return nil, toStatus(err)
	}
	return toConfigureResponse(ferrs), nil
}

func (s *server) Check(ctx context.Context, _ *pb.CheckRequest) (_ *pb.CheckResponse, err error) {
	defer s.guard("check", &err)
	defer s.enter()()
	if err := s.conn.Check(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &pb.CheckResponse{}, nil
}

func (s *server) Discover(ctx context.Context, _ *pb.DiscoverRequest) (_ *pb.DiscoverResponse, err error) {
	defer s.guard("discover", &err)
	defer s.enter()()
	if s.src == nil {
		return nil, toStatus(errclass.Permanentf("connector %s is not a source", s.spec.Name))
	}
	streams, err := s.src.Discover(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp, err := toDiscoverResponse(streams)
	if err != nil {
		return nil, toStatus(errclass.Permanentf("%w", err))
	}
	return resp, nil
}

func (s *server) ReadPage(ctx context.Context, req *pb.ReadPageRequest) (_ *pb.ReadPageResponse, err error) {
	defer s.guard("read", &err)
	if s.src == nil {
		defer s.enter()()
		return nil, toStatus(errclass.Permanentf("connector %s is not a source", s.spec.Name))
	}
	if s.aheader != nil && s.aheader.ReadAhead() {
		// Not entered: waiting for a page read ahead must not hold it
		// back; readPageAhead enters around its own call on the source.
		s.first()
		return s.readPageAhead(ctx, req)
	}
	defer s.enter()()
	return s.readPage(ctx, req)
}

// readPage reads and encodes one page; its errors are gRPC statuses.
func (s *server) readPage(ctx context.Context, req *pb.ReadPageRequest) (*pb.ReadPageResponse, error) {
	page, err := s.src.ReadPage(ctx, fromReadPageRequest(req))
	if err != nil {
		if page.Records != nil {
			page.Records.Release()
		}
		return nil, toStatus(err)
	}
	resp, err := toReadPageResponse(page, s.lender)
	if err != nil {
		return nil, toStatus(errclass.Permanentf("stream %q: %w", req.GetStream(), err))
	}
	return resp, nil
}

func (s *server) BeginWrite(ctx context.Context, req *pb.BeginWriteRequest) (_ *pb.BeginWriteResponse, err error) {
	defer s.guard("begin_write", &err)
	defer s.enter()()
	if s.dst == nil {
		return nil, toStatus(errclass.Permanentf("connector %s is not a destination", s.spec.Name))
	}
	wr, err := fromBeginWriteRequest(req)
	if err != nil {
		return nil, toStatus(errclass.Permanentf("begin write: %w", err))
	}
	if err := s.dst.BeginWrite(ctx, wr); err != nil {
		return nil, toStatus(err)
	}
	return &pb.BeginWriteResponse{}, nil
}

func (s *server) WriteBatch(ctx context.Context, req *pb.WriteBatchRequest) (_ *pb.WriteBatchResponse, err error) {
	defer s.guard("write", &err)
	defer s.enter()()
	if s.dst == nil {
		return nil, toStatus(errclass.Permanentf("connector %s is not a destination", s.spec.Name))
	}
	rec, err := arrowipc.DecodeRecord(req.GetRecords())
	if err != nil {
		return nil, toStatus(errclass.Permanentf("batch %d: %w", req.GetSeq(), err))
	}
	defer rec.Release()
	if err := s.dst.WriteBatch(ctx, req.GetWriteId(), req.GetSeq(), rec); err != nil {
		return nil, toStatus(err)
	}
	return &pb.WriteBatchResponse{}, nil
}

func (s *server) CommitWrite(ctx context.Context, req *pb.CommitWriteRequest) (_ *pb.CommitWriteResponse, err error) {
	defer s.guard("commit", &err)
	defer s.enter()()
	if s.dst == nil {
		return nil, toStatus(errclass.Permanentf("connector %s is not a destination", s.spec.Name))
	}
	if err := s.dst.CommitWrite(ctx, req.GetWriteId(), req.GetState()); err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.CommitWriteResponse{}
	if r, ok := s.dst.(CommitReporter); ok {
		resp.Report = r.CommitReport(req.GetWriteId())
	}
	return resp, nil
}

func (s *server) AbortWrite(ctx context.Context, req *pb.AbortWriteRequest) (_ *pb.AbortWriteResponse, err error) {
	defer s.guard("abort", &err)
	defer s.enter()()
	if s.dst == nil {
		return nil, toStatus(errclass.Permanentf("connector %s is not a destination", s.spec.Name))
	}
	if err := s.dst.AbortWrite(ctx, req.GetWriteId()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.AbortWriteResponse{}, nil
}

func (s *server) CheckWrite(ctx context.Context, req *pb.CheckWriteRequest) (_ *pb.CheckWriteResponse, err error) {
	defer s.guard("check_write", &err)
	defer s.enter()()
	wc, ok := s.conn.(WriteChecker)
	if s.dst == nil || !ok {
		return nil, status.Error(codes.Unimplemented, "connector "+s.spec.Name+" does not check writes")
	}
	resolved, err := wc.CheckWrite(ctx, fromCheckWriteRequest(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CheckWriteResponse{ResolvedTarget: resolved}, nil
}

func (s *server) GetState(ctx context.Context, req *pb.GetStateRequest) (_ *pb.GetStateResponse, err error) {
	defer s.guard("get_state", &err)
	defer s.enter()()
	st, ok := s.conn.(StateStore)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "connector "+s.spec.Name+" does not store state")
	}
	blob, found, err := st.LoadState(ctx, req.GetFlow())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.GetStateResponse{State: blob, Found: found}, nil
}

func (s *server) DeleteState(ctx context.Context, req *pb.DeleteStateRequest) (_ *pb.DeleteStateResponse, err error) {
	defer s.guard("delete_state", &err)
	defer s.enter()()
	st, ok := s.conn.(StateStore)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "connector "+s.spec.Name+" does not store state")
	}
	found, err := st.DeleteState(ctx, req.GetFlow())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteStateResponse{Found: found}, nil
}

func asErr(err error, target **errclass.Error) bool { return errors.As(err, target) }

// sanitize makes a message valid UTF-8 (protobuf refuses invalid strings
// with an unhelpful error) and bounds its length.
func sanitize(msg string) string {
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	const max = 64 << 10
	if len(msg) > max {
		msg = msg[:max] + "… (truncated)"
	}
	return msg
}
