package sdk

// This file is the SDK's read-ahead: after answering a ReadPage, the
// server of a source that allows it builds (and encodes) the next page
// while the answer crosses to the host, so the source's work overlaps the
// transfer and the host's round trip instead of following them.

import (
	"bytes"
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/status"

	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
)

// ReadAheader is implemented by a [Source] whose next page the SDK may
// read before the host asks for it.
//
// When ReadAhead returns true, the SDK answers ReadPage(checkpoint C) and
// then, in the background, calls the source's ReadPage for the checkpoint
// of that answer with the same stream, caps and cursor, and encodes the
// page. The host's next request, when it asks exactly for that (the
// usual case: the host reads a stream's pages in order), is answered from
// it; any other request (a retry of an earlier page, another stream, a
// resume from a checkpoint) discards it and is read as usual. A
// read-ahead that failed is read again for the request, so the errors the
// host sees are always those of its own call. The host still drives every
// page: checkpoints, retries and resume-from-checkpoint are unchanged.
//
// A read-ahead never runs at the same time as another call on the
// connector (the SDK holds the host's calls back until it ends), so a
// connector author sees no more concurrency than without it. Each stream
// has at most one page read ahead: one page of memory per stream being
// read.
//
// Only a source whose reads have no cost the host must meter should
// allow it: local files, an in-memory generator, an object store. A
// source behind an API whose rate limit the host enforces (Shopify,
// Sheets, a REST API) must not, since a read ahead of the host's limiter
// would be a request the limiter never allowed.
type ReadAheader interface {
	// ReadAhead reports whether the SDK may read ahead now. It is asked
	// at every ReadPage, so it may depend on the connector's
	// configuration (a setting that turns read-ahead off).
	ReadAhead() bool
}

// readAheadTimeout bounds a read-ahead that nobody asks for: past it the
// read is cancelled (a later request reads the page again).
const readAheadTimeout = 10 * time.Minute

// readAhead holds a server's read-ahead state: the page read ahead for
// each stream, and the lock that keeps a read-ahead apart from the host's
// calls.
type readAhead struct {
	// gate is held for writing by a read-ahead while it calls the
	// source, and for reading by every call of the host on the connector
	// (when the connector is a ReadAheader): host calls run as they did
	// without read-ahead, a read-ahead runs alone.
	gate sync.RWMutex

	mu      sync.Mutex
	pending map[string]*ahead // by stream
}

// ahead is a page read ahead of the host, for the request req.
type ahead struct {
	req    *pb.ReadPageRequest
	done   chan struct{}
	resp   *pb.ReadPageResponse
	err    error
	cancel context.CancelFunc
}

// matches reports whether r asks for exactly the page a was read for.
func (a *ahead) matches(r *pb.ReadPageRequest) bool {
	q := a.req
	return q.GetStream() == r.GetStream() &&
		bytes.Equal(q.GetCheckpoint(), r.GetCheckpoint()) &&
		q.GetMaxRows() == r.GetMaxRows() &&
		q.GetMaxBytes() == r.GetMaxBytes() &&
		q.GetCursorField() == r.GetCursorField() &&
		bytes.Equal(q.GetCursorValueJson(), r.GetCursorValueJson())
}

// take removes and returns the page read ahead for stream, or nil.
func (ra *readAhead) take(stream string) *ahead {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	a := ra.pending[stream]
	delete(ra.pending, stream)
	return a
}

// put makes a the page read ahead for its stream and returns the one it
// replaces, or nil.
func (ra *readAhead) put(a *ahead) *ahead {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.pending == nil {
		ra.pending = map[string]*ahead{}
	}
	old := ra.pending[a.req.GetStream()]
	ra.pending[a.req.GetStream()] = a
	return old
}

// readPageAhead answers req for a source that allows read-ahead: from
// the page read ahead when it is the one asked for, else by reading it.
// Then it starts reading the page after the answer.
func (s *server) readPageAhead(ctx context.Context, req *pb.ReadPageRequest) (*pb.ReadPageResponse, error) {
	ra := &s.ahead
	var resp *pb.ReadPageResponse
	if a := ra.take(req.GetStream()); a != nil {
		if a.matches(req) {
			select {
			case <-a.done:
			case <-ctx.Done():
				s.discard(a)
				return nil, status.FromContextError(ctx.Err()).Err()
			}
			if a.err == nil {
				resp = a.resp
			}
		} else {
			s.discard(a)
		}
	}
	if resp == nil {
		ra.gate.RLock()
		r, err := s.readPage(ctx, req)
		ra.gate.RUnlock()
		if err != nil {
			return nil, err
		}
		resp = r
	}
	if !resp.GetDone() {
		s.startAhead(ctx, req, resp.GetCheckpoint())
	}
	return resp, nil
}

// startAhead reads, in the background, the page at checkpoint with req's
// stream, caps and cursor.
func (s *server) startAhead(ctx context.Context, req *pb.ReadPageRequest, checkpoint []byte) {
	next := &pb.ReadPageRequest{
		Stream:          req.GetStream(),
		Checkpoint:      bytes.Clone(checkpoint),
		MaxRows:         req.GetMaxRows(),
		MaxBytes:        req.GetMaxBytes(),
		CursorField:     req.GetCursorField(),
		CursorValueJson: bytes.Clone(req.GetCursorValueJson()),
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readAheadTimeout)
	a := &ahead{req: next, done: make(chan struct{}), cancel: cancel}
	ra := &s.ahead
	if old := ra.put(a); old != nil {
		s.discard(old)
	}
	go func() {
		defer close(a.done)
		defer cancel()
		ra.gate.Lock()
		defer ra.gate.Unlock()
		if actx.Err() != nil {
			a.err = actx.Err()
			return
		}
		a.resp, a.err = s.readPageGuarded(actx, next)
	}()
}

// discard cancels a read-ahead nobody will use and, once it has ended,
// gives its encoded page back to the lender. It does not wait.
func (s *server) discard(a *ahead) {
	a.cancel()
	go func() {
		<-a.done
		if a.resp != nil && s.lender != nil && len(a.resp.Records) > 0 {
			s.lender.Reclaim(a.resp.Records)
		}
	}()
}

// readPageGuarded is readPage for a call no gRPC handler guards: a panic
// becomes the read's error instead of killing the process.
func (s *server) readPageGuarded(ctx context.Context, req *pb.ReadPageRequest) (resp *pb.ReadPageResponse, err error) {
	defer s.guard("read", &err)
	return s.readPage(ctx, req)
}
