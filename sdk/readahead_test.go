package sdk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

// aheadSource is a source of `pages` pages of one row each (page k holds
// k); the checkpoint is the page number. It records every ReadPage call,
// the most calls in flight at once, and can fail or hold chosen calls.
type aheadSource struct {
	ahead bool
	pages int64

	mu       sync.Mutex
	calls    []int64
	inFlight int
	maxIn    int
	// failures maps a page to how many of its calls fail (TRANSIENT).
	failures map[int64]int
	// hold, when set, makes a call for page holdPage block until it is
	// closed (or its context ends); started gets the page of every call.
	hold     chan struct{}
	holdPage int64
	started  chan int64
	// cancelled gets the page of a held call whose context ended.
	cancelled chan int64
}

var aheadSchema = arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (a *aheadSource) Spec() Spec { return Spec{Name: "ahead", Version: "1.0.0"} }
func (a *aheadSource) Configure(context.Context, json.RawMessage) ([]FieldError, error) {
	return nil, nil
}
func (a *aheadSource) Check(context.Context) error { return nil }
func (a *aheadSource) Discover(context.Context) ([]Stream, error) {
	a.mu.Lock()
	a.inFlight++
	a.maxIn = max(a.maxIn, a.inFlight)
	a.inFlight--
	a.mu.Unlock()
	return []Stream{{Name: "s", Schema: aheadSchema}}, nil
}
func (a *aheadSource) ReadAhead() bool { return a.ahead }

func (a *aheadSource) ReadPage(ctx context.Context, req ReadRequest) (Page, error) {
	var k int64
	if len(req.Checkpoint) == 8 {
		k = int64(binary.BigEndian.Uint64(req.Checkpoint))
	}
	a.mu.Lock()
	if req.Stream == "t" {
		a.calls = append(a.calls, 1000+k) // stream t's pages are logged from 1000
	} else {
		a.calls = append(a.calls, k)
	}
	a.inFlight++
	a.maxIn = max(a.maxIn, a.inFlight)
	fail := a.failures[k] > 0
	if fail {
		a.failures[k]--
	}
	hold := a.hold
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.inFlight--
		a.mu.Unlock()
	}()
	if a.started != nil {
		a.started <- k
	}
	if hold != nil && k == a.holdPage {
		select {
		case <-hold:
		case <-ctx.Done():
			if a.cancelled != nil {
				a.cancelled <- k
			}
			return Page{}, ctx.Err()
		}
	}
	if fail {
		return Page{}, errclass.Transientf("page %d failed", k)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, aheadSchema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(k)
	return Page{Records: b.NewRecordBatch(), Checkpoint: binary.BigEndian.AppendUint64(nil, uint64(k+1)), Done: k+1 == a.pages}, nil
}

func (a *aheadSource) callLog() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// serveAhead serves src over real gRPC on loopback, with the lending
// codec as Serve sets it up, and returns a client.
func serveAhead(t *testing.T, src Connector) pb.ConnectorClient {
	t.Helper()
	codec := protocol.NewCodec()
	srv := grpc.NewServer(grpc.ForceServerCodecV2(codec))
	s := newServer(src, hclog.NewNullLogger())
	s.lender = codec
	pb.RegisterConnectorServer(srv, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(protocol.NewCodec())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewConnectorClient(conn)
}

func cp(k int64) []byte {
	if k == 0 {
		return nil
	}
	return binary.BigEndian.AppendUint64(nil, uint64(k))
}

// readK asks for page k and checks it holds k.
func readK(t *testing.T, ctx context.Context, c pb.ConnectorClient, k int64) (*pb.ReadPageResponse, error) {
	t.Helper()
	resp, err := c.ReadPage(ctx, &pb.ReadPageRequest{Stream: "s", Checkpoint: cp(k), MaxRows: 10})
	if err != nil {
		return nil, err
	}
	rec, err := arrowipc.DecodeRecord(resp.Records)
	if err != nil {
		t.Fatalf("page %d: %v", k, err)
	}
	defer rec.Release()
	if got := rec.Column(0).(*array.Int64).Value(0); got != k {
		t.Fatalf("asked for page %d, got page %d", k, got)
	}
	return resp, nil
}

// TestReadAheadServesNextPage reads a stream in order: every page is read
// from the source once, and page k+1's read starts before the host asks
// for it (observed through the source's start signal, not by timing).
func TestReadAheadServesNextPage(t *testing.T) {
	src := &aheadSource{ahead: true, pages: 6, started: make(chan int64, 16)}
	c := serveAhead(t, src)
	ctx := context.Background()
	for k := range int64(6) {
		resp, err := readK(t, ctx, c, k)
		if err != nil {
			t.Fatal(err)
		}
		if <-src.started != k {
			t.Fatalf("the source's next call is not page %d", k)
		}
		if resp.Done != (k == 5) {
			t.Fatalf("page %d: done=%v", k, resp.Done)
		}
		if k < 5 {
			// The read of page k+1 has started although nobody asked yet.
			next := <-src.started
			if next != k+1 {
				t.Fatalf("read ahead page %d after page %d", next, k)
			}
			src.started <- next // give it back for the next round's check
		}
	}
	if got, want := src.callLog(), []int64{0, 1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("source calls %v, want each page once %v", got, want)
	}
}

// TestReadAheadOtherRequestReadsAgain asks again for a page already
// answered (as the host does after a timeout) and then jumps: each is read
// from the source, never answered from the page read ahead, and the
// source never sees two calls at once.
func TestReadAheadOtherRequestReadsAgain(t *testing.T) {
	src := &aheadSource{ahead: true, pages: 100}
	c := serveAhead(t, src)
	ctx := context.Background()
	for _, k := range []int64{0, 0, 7, 3, 4, 4, 50} {
		if _, err := readK(t, ctx, c, k); err != nil {
			t.Fatal(err)
		}
	}
	// A different cap is another request too.
	if _, err := c.ReadPage(ctx, &pb.ReadPageRequest{Stream: "s", Checkpoint: cp(51), MaxRows: 99}); err != nil {
		t.Fatal(err)
	}
	calls := src.callLog()
	for _, k := range []int64{0, 7, 3, 4, 50, 51} {
		if !slices.Contains(calls, k) {
			t.Errorf("page %d was never read from the source: %v", k, calls)
		}
	}
	if n := countOf(calls, 0); n != 2 {
		t.Errorf("page 0 asked twice was read %d times, want 2 (the repeat must not be answered from a read-ahead): %v", n, calls)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.maxIn != 1 {
		t.Errorf("the source saw %d calls at once, want 1", src.maxIn)
	}
}

func countOf(s []int64, v int64) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestReadAheadErrorIsTheCallsOwn: a read-ahead that failed is read again
// when asked for, so a passing failure never reaches the host; a failure
// that repeats reaches it with its class.
func TestReadAheadErrorIsTheCallsOwn(t *testing.T) {
	src := &aheadSource{ahead: true, pages: 10, failures: map[int64]int{2: 1, 4: 2}}
	c := serveAhead(t, src)
	ctx := context.Background()
	for k := range int64(4) {
		if _, err := readK(t, ctx, c, k); err != nil {
			t.Fatalf("page %d: %v (the read-ahead's failure reached the host)", k, err)
		}
	}
	_, err := readK(t, ctx, c, 4)
	if err == nil {
		t.Fatal("page 4 fails twice (read-ahead and call): want the call's error")
	}
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable {
		t.Fatalf("error %v: want the TRANSIENT class's code Unavailable", err)
	}
	if _, err := readK(t, ctx, c, 4); err != nil {
		t.Fatalf("page 4 on retry: %v", err)
	}
}

// TestReadAheadCancelledWait: a request waiting on the page read ahead
// ends with its context; the read-ahead is cancelled and dropped, and the
// next request reads the page again. (The server is called directly, so
// the request is known to be waiting when its context ends.)
func TestReadAheadCancelledWait(t *testing.T) {
	hold := make(chan struct{})
	src := &aheadSource{ahead: true, pages: 10, hold: hold, holdPage: 1, started: make(chan int64, 16), cancelled: make(chan int64, 4)}
	s := newServer(src, hclog.NewNullLogger())
	if _, err := s.ReadPage(context.Background(), &pb.ReadPageRequest{Stream: "s", MaxRows: 10}); err != nil {
		t.Fatal(err)
	}
	<-src.started // page 0
	if k := <-src.started; k != 1 {
		t.Fatalf("read ahead page %d, want 1", k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.ReadPage(ctx, &pb.ReadPageRequest{Stream: "s", Checkpoint: cp(1), MaxRows: 10})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled wait: %v, want Canceled", err)
	}
	if k := <-src.cancelled; k != 1 {
		t.Fatalf("cancelled read of page %d, want the read-ahead of page 1", k)
	}
	src.mu.Lock()
	src.hold = nil
	src.mu.Unlock()
	resp, err := s.ReadPage(context.Background(), &pb.ReadPageRequest{Stream: "s", Checkpoint: cp(1), MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resp.Checkpoint, cp(2)) {
		t.Fatalf("page 1's checkpoint %v", resp.Checkpoint)
	}
	if n := countOf(src.callLog(), 1); n != 2 {
		t.Fatalf("page 1 read %d times, want 2: the dropped read-ahead and a new read", n)
	}
}

// TestReadAheadPerStream reads two streams of one connector in turn (two
// flows sharing a source): each keeps its own page read ahead, so every
// page is still read from the source once.
func TestReadAheadPerStream(t *testing.T) {
	src := &aheadSource{ahead: true, pages: 4}
	c := serveAhead(t, src)
	ctx := context.Background()
	for k := range int64(4) {
		for _, stream := range []string{"s", "t"} {
			resp, err := c.ReadPage(ctx, &pb.ReadPageRequest{Stream: stream, Checkpoint: cp(k), MaxRows: 10})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(resp.Checkpoint, cp(k+1)) {
				t.Fatalf("stream %s page %d: checkpoint %v", stream, k, resp.Checkpoint)
			}
		}
	}
	calls := src.callLog()
	slices.Sort(calls)
	if want := []int64{0, 1, 2, 3, 1000, 1001, 1002, 1003}; !slices.Equal(calls, want) {
		t.Fatalf("source calls %v, want each page of each stream once %v", calls, want)
	}
}

// TestNoReadAheadWithoutOptIn: a source that does not allow read-ahead
// is called for exactly the pages asked for.
func TestNoReadAheadWithoutOptIn(t *testing.T) {
	src := &aheadSource{ahead: false, pages: 10}
	c := serveAhead(t, src)
	for _, k := range []int64{0, 1, 5} {
		if _, err := readK(t, context.Background(), c, k); err != nil {
			t.Fatal(err)
		}
	}
	if got := src.callLog(); !slices.Equal(got, []int64{0, 1, 5}) {
		t.Fatalf("source calls %v, want exactly the pages asked for", got)
	}
}

// TestReadAheadRunsAlone: while a read-ahead is in the source, a host call
// on the connector (here Discover) waits for it, so the connector never
// sees two calls at once.
func TestReadAheadRunsAlone(t *testing.T) {
	hold := make(chan struct{})
	src := &aheadSource{ahead: true, pages: 10, hold: hold, holdPage: 1, started: make(chan int64, 16)}
	s := newServer(src, hclog.NewNullLogger())
	if _, err := s.ReadPage(context.Background(), &pb.ReadPageRequest{Stream: "s", MaxRows: 10}); err != nil {
		t.Fatal(err)
	}
	<-src.started // page 0
	<-src.started // page 1, read ahead and held
	if s.ahead.gate.TryRLock() {
		t.Fatal("a host call could enter while a read-ahead is in the source")
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Discover(context.Background(), &pb.DiscoverRequest{})
		done <- err
	}()
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.maxIn != 1 {
		t.Fatalf("the connector saw %d calls at once", src.maxIn)
	}
}
