package rpcclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// fake is a source and destination whose answers the tests set.
type fake struct {
	err      error
	panicMsg string
	wrote    []int64
	req      sdk.WriteRequest
	readReq  sdk.ReadRequest
	state    []byte
	big      int
}

func (f *fake) Spec() sdk.Spec {
	return sdk.Spec{Name: "fake", Version: "9.9", ConfigSchema: json.RawMessage(`{}`), Incremental: true, StoresState: true,
		WriteModes: []sdk.WriteMode{sdk.ModeReplace, sdk.ModeUpsert}}
}
func (f *fake) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	if string(raw) == `{"bad":1}` {
		return []sdk.FieldError{{Field: "bad", Message: "not allowed"}, {Message: "whole"}}, nil
	}
	return nil, f.err
}
func (f *fake) Check(ctx context.Context) error { return f.err }
func (f *fake) Discover(ctx context.Context) ([]sdk.Stream, error) {
	return []sdk.Stream{{Name: "s", Schema: schema, PrimaryKey: []string{"id"}, CursorFields: []string{"id"}, Default: true, EstimatedRows: 1234}, {Name: "unknown"}}, f.err
}
func (f *fake) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	f.readReq = req
	if f.err != nil {
		return sdk.Page{}, f.err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	n := 3
	if f.big > 0 {
		n = f.big
	}
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i == 1 {
			b.Field(1).AppendNull()
		} else if f.big > 0 {
			b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", 1000))
		} else {
			b.Field(1).(*array.StringBuilder).Append("v")
		}
	}
	return sdk.Page{Records: b.NewRecordBatch(), Checkpoint: []byte("cp"), CursorValue: json.RawMessage(`2`),
		RateHints: &sdk.RateHints{Remaining: 5, Limit: 40, Reset: 2 * time.Second, RestoreRate: 2, Cost: 1, RetryAfter: time.Second}}, nil
}
func (f *fake) BeginWrite(ctx context.Context, req sdk.WriteRequest) error { f.req = req; return f.err }
func (f *fake) WriteBatch(ctx context.Context, id string, seq int64, rec arrow.RecordBatch) error {
	f.wrote = append(f.wrote, rec.NumRows())
	return f.err
}
func (f *fake) CommitWrite(ctx context.Context, id string, state []byte) error {
	f.state = state
	return f.err
}
func (f *fake) AbortWrite(ctx context.Context, id string) error { return f.err }
func (f *fake) CommitReport(id string) map[string]string        { return map[string]string{"rows": "3"} }

func dial(t *testing.T, f *fake, opts ...grpc.DialOption) *rpcclient.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(grpc.MaxRecvMsgSize(arrowipc.MaxMessageSize), grpc.MaxSendMsgSize(arrowipc.MaxMessageSize))
	sdk.RegisterServer(s, f, nil)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return rpcclient.New(conn)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestRoundTrip(t *testing.T) {
	f := &fake{}
	c := dial(t, f)
	spec, err := c.Spec(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "fake" || !spec.Source || !spec.Destination || spec.ProtocolVersion != sdk.ProtocolVersion ||
		spec.ResilienceClass != sdk.ResilienceNetwork || !spec.StoresState || len(spec.WriteModes) != 2 || spec.WriteModes[1] != sdk.ModeUpsert {
		t.Fatalf("spec = %+v", spec)
	}
	fe, err := c.Configure(ctx(t), json.RawMessage(`{"bad":1}`))
	if err != nil || len(fe) != 2 || fe[0].Field != "bad" || fe[1].Field != "" {
		t.Fatalf("field errors = %v, %v", fe, err)
	}
	streams, err := c.Discover(ctx(t))
	if err != nil || len(streams) != 2 || !streams[0].Schema.Equal(schema) || streams[1].Schema != nil || streams[0].PrimaryKey[0] != "id" ||
		!streams[0].Default || streams[1].Default || streams[0].EstimatedRows != 1234 || streams[1].EstimatedRows != 0 {
		t.Fatalf("streams = %+v, %v", streams, err)
	}
	page, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "s", Checkpoint: []byte("x"), MaxRows: 7, MaxBytes: 9, CursorField: "id", CursorValue: json.RawMessage(`1`)})
	if err != nil {
		t.Fatal(err)
	}
	if f.readReq.Stream != "s" || string(f.readReq.Checkpoint) != "x" || f.readReq.MaxRows != 7 || f.readReq.MaxBytes != 9 ||
		f.readReq.CursorField != "id" || string(f.readReq.CursorValue) != "1" {
		t.Fatalf("read request arrived as %+v", f.readReq)
	}
	if page.Rows != 3 || string(page.Checkpoint) != "cp" || page.Done || string(page.CursorValue) != "2" ||
		page.RateHints == nil || page.RateHints.Reset != 2*time.Second || page.RateHints.RetryAfter != time.Second || page.RateHints.Limit != 40 {
		t.Fatalf("page = %+v", page)
	}
	rec, err := arrowipc.DecodeRecord(page.Records)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Column(1).IsNull(1) {
		t.Fatal("null lost")
	}
	var sum rowhash.Sum
	sum.Add(rec)
	rec.Release()

	if err := c.BeginWrite(ctx(t), sdk.WriteRequest{WriteID: "w", Flow: "fl", Target: "t", Schema: schema, Mode: sdk.ModeUpsert, Key: []string{"id"}}); err != nil {
		t.Fatal(err)
	}
	if f.req.WriteID != "w" || f.req.Flow != "fl" || f.req.Target != "t" || !f.req.Schema.Equal(schema) || f.req.Mode != sdk.ModeUpsert || f.req.Key[0] != "id" {
		t.Fatalf("write request arrived as %+v", f.req)
	}
	if err := c.WriteBatch(ctx(t), "w", 1, page.Records); err != nil || len(f.wrote) != 1 || f.wrote[0] != 3 {
		t.Fatalf("write batch: %v %v", err, f.wrote)
	}
	report, err := c.CommitWrite(ctx(t), "w", []byte("state"))
	if err != nil || report["rows"] != "3" || string(f.state) != "state" {
		t.Fatalf("commit: %v %v %q", report, err, f.state)
	}
	if err := c.AbortWrite(ctx(t), "w"); err != nil {
		t.Fatal(err)
	}
}

func TestErrorClassesCrossTheWire(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		class errclass.Class
		after time.Duration
		msg   string
	}{
		{"transient", errclass.Transientf("connection reset"), errclass.Transient, 0, "connection reset"},
		{"rate limited", errclass.RateLimitedf(1500*time.Millisecond, "429 too many"), errclass.RateLimited, 1500 * time.Millisecond, "429 too many"},
		{"auth", errclass.AuthExpiredf("token expired"), errclass.AuthExpired, 0, "token expired"},
		{"permanent", errclass.Permanentf("no such table"), errclass.Permanent, 0, "no such table"},
		{"unclassified is permanent", errors.New("plain"), errclass.Permanent, 0, "plain"},
		{"invalid utf-8 cleaned", errclass.Permanentf("bad \xff byte"), errclass.Permanent, 0, "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, &fake{err: tt.err})
			err := c.Check(ctx(t))
			if errclass.Of(err) != tt.class || errclass.RetryAfter(err) != tt.after || err.Error() != tt.msg {
				t.Fatalf("got %v (class %v, after %v)", err, errclass.Of(err), errclass.RetryAfter(err))
			}
		})
	}
}

func TestPanicIsReported(t *testing.T) {
	c := dial(t, &fake{panicMsg: "nil map write"})
	_, err := c.Configure(ctx(t), json.RawMessage(`{}`))
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "nil map write") {
		t.Fatalf("got %v", err)
	}
	// The plugin is still up.
	if _, err := c.Spec(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestStatusWithoutDetail(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		err       error
		class     errclass.Class
		transport bool
		is        error
	}{
		{"unavailable is a transport failure", context.Background(), status.Error(codes.Unavailable, "connection refused"), errclass.Transient, true, nil},
		{"deadline", context.Background(), status.Error(codes.DeadlineExceeded, "deadline"), errclass.Transient, true, context.DeadlineExceeded},
		{"caller cancelled", cancelled, status.Error(codes.Canceled, "canceled"), errclass.Unknown, false, context.Canceled},
		{"too large", context.Background(), status.Error(codes.ResourceExhausted, "grpc: received message larger than max (5 vs. 4)"), errclass.Permanent, false, nil},
		{"resource exhausted", context.Background(), status.Error(codes.ResourceExhausted, "quota"), errclass.RateLimited, false, nil},
		{"unauthenticated", context.Background(), status.Error(codes.Unauthenticated, "who"), errclass.AuthExpired, false, nil},
		{"unimplemented", context.Background(), status.Error(codes.Unimplemented, "no"), errclass.Permanent, false, nil},
		{"other", context.Background(), status.Error(codes.Internal, "boom"), errclass.Permanent, false, nil},
		{"not a status", context.Background(), errors.New("eof"), errclass.Transient, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rpcclient.FromStatus(tt.ctx, tt.err)
			if errclass.Of(err) != tt.class || rpcclient.IsTransport(err) != tt.transport {
				t.Fatalf("got %v (class %v, transport %v)", err, errclass.Of(err), rpcclient.IsTransport(err))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("%v is not %v", err, tt.is)
			}
		})
	}
}

func TestLargePageCrossesTheBoundary(t *testing.T) {
	f := &fake{big: 6000} // ~6 MB of strings, over gRPC's 4 MiB default
	c := dial(t, f, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(arrowipc.MaxMessageSize), grpc.MaxCallSendMsgSize(arrowipc.MaxMessageSize)))
	page, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) < 5<<20 || page.Rows != 6000 {
		t.Fatalf("page of %d bytes, %d rows", len(page.Records), page.Rows)
	}
	if err := c.WriteBatch(ctx(t), "w", 1, page.Records); err != nil {
		t.Fatal(err)
	}
	// A client left at gRPC's default gets a clear protocol error, not a hang.
	small := dial(t, &fake{big: 6000})
	_, err = small.ReadPage(ctx(t), sdk.ReadRequest{Stream: "s"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "protocol error") {
		t.Fatalf("got %v", err)
	}
}
