// Package rpcclient is the calling side of the connector protocol: a Go
// client over a gRPC connection to a plugin that speaks sdk types, with
// page and batch data kept as Arrow IPC bytes so a host can forward them
// without decoding. It is the one place where a gRPC status is turned back
// into a classified error.
//
// Its users are hosts (sqlflow-host's plugin launcher) and the conformance
// kit in package sdktest, which both call plugins; a connector author never
// needs it. Its exported API speaks sdk types only: the generated protocol
// types stay behind it.
package rpcclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

// Page is one page as it crossed the wire: the record batch stays encoded.
type Page struct {
	// Records is the page's Arrow IPC stream bytes (schema and one batch);
	// empty when the page carries no data.
	Records []byte
	// Rows is the number of rows in Records.
	Rows int64
	// Checkpoint is the opaque position after this page.
	Checkpoint []byte
	// Done reports the end of the stream.
	Done bool
	// CursorValue is the greatest cursor value read so far (JSON), for
	// incremental reads.
	CursorValue json.RawMessage
	// RateHints are the rate-limit facts of the response, or nil.
	RateHints *sdk.RateHints
	// Release, when not nil, gives Records' memory back for the next page
	// (see NewWithCodec). Call it at most once, when nothing reads
	// Records any more (a host: once the destination acknowledged the
	// batch); a page never released is left to the garbage collector.
	Release func()
}

// Client calls one plugin. It is safe for concurrent use.
type Client struct {
	c     pb.ConnectorClient
	pages reclaimer
}

// reclaimer takes back the records of a page its codec decoded
// (*protocol.Codec).
type reclaimer interface{ Reclaim(records []byte) }

// New returns a client over conn.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{c: pb.NewConnectorClient(conn)}
}

// NewWithCodec returns a client over conn whose calls use codec (conn
// must have been dialled with grpc.ForceCodecV2(codec)): pages then come
// with a Release that gives their memory back to the codec.
func NewWithCodec(conn grpc.ClientConnInterface, codec *protocol.Codec) *Client {
	return &Client{c: pb.NewConnectorClient(conn), pages: codec}
}

// Spec asks for the connector's description.
func (c *Client) Spec(ctx context.Context) (sdk.Spec, error) {
	r, err := c.c.Spec(ctx, &pb.SpecRequest{})
	if err != nil {
		return sdk.Spec{}, fromStatus(ctx, err)
	}
	if b := r.GetResilienceJson(); len(b) > 0 {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return sdk.Spec{}, errclass.Permanentf("spec: resilience_json is not a JSON object of policy fields: %w", err)
		}
	}
	return fromSpecResponse(r), nil
}

// Configure sends the connector's config (a JSON object).
func (c *Client) Configure(ctx context.Context, config json.RawMessage) ([]sdk.FieldError, error) {
	r, err := c.c.Configure(ctx, &pb.ConfigureRequest{ConfigJson: config})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	var out []sdk.FieldError
	for _, fe := range r.GetFieldErrors() {
		out = append(out, sdk.FieldError{Field: fe.GetField(), Message: fe.GetMessage()})
	}
	return out, nil
}

// Check asks the connector to reach its system.
func (c *Client) Check(ctx context.Context) error {
	if _, err := c.c.Check(ctx, &pb.CheckRequest{}); err != nil {
		return fromStatus(ctx, err)
	}
	return nil
}

// Discover lists the source's streams.
func (c *Client) Discover(ctx context.Context) ([]sdk.Stream, error) {
	r, err := c.c.Discover(ctx, &pb.DiscoverRequest{})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return fromDiscoverResponse(r)
}

// ReadPage reads one page.
func (c *Client) ReadPage(ctx context.Context, req sdk.ReadRequest) (Page, error) {
	r, err := c.c.ReadPage(ctx, &pb.ReadPageRequest{
		Stream:          req.Stream,
		Checkpoint:      req.Checkpoint,
		MaxRows:         req.MaxRows,
		MaxBytes:        req.MaxBytes,
		CursorField:     req.CursorField,
		CursorValueJson: req.CursorValue,
	})
	if err != nil {
		return Page{}, fromStatus(ctx, err)
	}
	p := fromReadPageResponse(r)
	if c.pages != nil && len(p.Records) > 0 {
		records := p.Records
		p.Release = func() { c.pages.Reclaim(records) }
	}
	return p, nil
}

// BeginWrite opens a staged write.
func (c *Client) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	schema, err := arrowipc.EncodeSchema(req.Schema)
	if err != nil {
		return errclass.Permanentf("begin write: %w", err)
	}
	_, err = c.c.BeginWrite(ctx, &pb.BeginWriteRequest{
		WriteId: req.WriteID, Flow: req.Flow, Target: req.Target, ArrowSchema: schema,
		Mode: string(req.Mode), Key: req.Key, DefaultTarget: req.DefaultTarget,
	})
	if err != nil {
		return fromStatus(ctx, err)
	}
	return nil
}

// WriteBatch sends one batch of Arrow IPC bytes.
func (c *Client) WriteBatch(ctx context.Context, writeID string, seq int64, records []byte) error {
	if _, err := c.c.WriteBatch(ctx, &pb.WriteBatchRequest{WriteId: writeID, Seq: seq, Records: records}); err != nil {
		return fromStatus(ctx, err)
	}
	return nil
}

// CommitWrite commits a write and returns the destination's report.
func (c *Client) CommitWrite(ctx context.Context, writeID string, state []byte) (map[string]string, error) {
	r, err := c.c.CommitWrite(ctx, &pb.CommitWriteRequest{WriteId: writeID, State: state})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return r.GetReport(), nil
}

// AbortWrite drops a write's staging.
func (c *Client) AbortWrite(ctx context.Context, writeID string) error {
	if _, err := c.c.AbortWrite(ctx, &pb.AbortWriteRequest{WriteId: writeID}); err != nil {
		return fromStatus(ctx, err)
	}
	return nil
}

// ErrNotImplemented is returned by the calls a plugin may leave out
// (CheckWrite, LoadState, DeleteState) when it does. Test with errors.Is.
var ErrNotImplemented = errors.New("the plugin does not implement this call")

// CheckWrite asks a destination whether a write could begin and what it
// would change; ErrNotImplemented when the plugin cannot tell.
func (c *Client) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	r, err := c.c.CheckWrite(ctx, &pb.CheckWriteRequest{
		Flow: req.Flow, Target: req.Target, Mode: string(req.Mode), Key: req.Key, DefaultTarget: req.DefaultTarget,
	})
	if err != nil {
		return "", fromStatus(ctx, err)
	}
	return r.GetResolvedTarget(), nil
}

// LoadState reads the state blob a destination stored for flow; found is
// false when it holds none.
func (c *Client) LoadState(ctx context.Context, flow string) ([]byte, bool, error) {
	r, err := c.c.GetState(ctx, &pb.GetStateRequest{Flow: flow})
	if err != nil {
		return nil, false, fromStatus(ctx, err)
	}
	return r.GetState(), r.GetFound(), nil
}

// DeleteState forgets the state blob a destination stored for flow.
func (c *Client) DeleteState(ctx context.Context, flow string) (bool, error) {
	r, err := c.c.DeleteState(ctx, &pb.DeleteStateRequest{Flow: flow})
	if err != nil {
		return false, fromStatus(ctx, err)
	}
	return r.GetFound(), nil
}

// fromSpecResponse converts a wire spec to its domain form. Resilience
// defaults that are not a JSON object are left out (Client.Spec refuses
// them); an old plugin sends none, and the host then applies its class
// profile.
func fromSpecResponse(r *pb.SpecResponse) sdk.Spec {
	var res map[string]any
	if b := r.GetResilienceJson(); len(b) > 0 {
		if err := json.Unmarshal(b, &res); err != nil {
			res = nil
		}
	}
	modes := make([]sdk.WriteMode, 0, len(r.GetWriteModes()))
	for _, m := range r.GetWriteModes() {
		modes = append(modes, sdk.WriteMode(m))
	}
	return sdk.Spec{
		Name:            r.GetName(),
		Version:         r.GetVersion(),
		ProtocolVersion: int(r.GetProtocolVersion()),
		Source:          r.GetSource(),
		Destination:     r.GetDestination(),
		ConfigSchema:    r.GetConfigSchema(),
		ResilienceClass: sdk.ResilienceClass(r.GetResilienceClass()),
		Incremental:     r.GetIncremental(),
		Upsert:          r.GetUpsert(),
		Discover:        r.GetDiscover(),
		WriteModes:      modes,
		StoresState:     r.GetStoresState(),
		LocalDiscover:   r.GetLocalDiscover(),
		LocationKeys:    r.GetLocationKeys(),
		Env:             r.GetEnv(),
		Resilience:      res,
		HostKeys:        r.GetHostKeys(),
		DefaultHost:     r.GetDefaultHost(),
		Aliases:         r.GetAliases(),
		LegacyRetryKeys: r.GetLegacyRetryKeys(),
	}
}

// fromDiscoverResponse converts wire streams to their domain form.
func fromDiscoverResponse(r *pb.DiscoverResponse) ([]sdk.Stream, error) {
	out := make([]sdk.Stream, 0, len(r.GetStreams()))
	for _, s := range r.GetStreams() {
		schema, err := arrowipc.DecodeSchema(s.GetArrowSchema())
		if err != nil {
			return nil, errclass.Permanentf("stream %q: %w", s.GetName(), err)
		}
		out = append(out, sdk.Stream{Name: s.GetName(), Schema: schema, PrimaryKey: s.GetPrimaryKey(), CursorFields: s.GetCursorFields(), Default: s.GetDefault(),
			EstimatedRows: s.GetEstimatedRows()})
	}
	return out, nil
}

// fromReadPageResponse converts a wire page to a Page.
func fromReadPageResponse(r *pb.ReadPageResponse) Page {
	p := Page{
		Records:     r.GetRecords(),
		Rows:        r.GetNumRows(),
		Checkpoint:  r.GetCheckpoint(),
		Done:        r.GetDone(),
		CursorValue: r.GetCursorValueJson(),
	}
	if h := r.GetRateHints(); h != nil {
		p.RateHints = &sdk.RateHints{
			Remaining:   h.GetRemaining(),
			Limit:       h.GetLimit(),
			Reset:       seconds(h.GetResetSeconds()),
			RestoreRate: h.GetRestoreRate(),
			Cost:        h.GetCost(),
			RetryAfter:  seconds(h.GetRetryAfterSeconds()),
		}
	}
	return p
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// TransportError is a call that failed below the connector: the plugin
// process died, the connection broke or the call's deadline passed. Its
// class is TRANSIENT; a supervisor treats it as a crash or a hang.
type TransportError struct {
	// Code is the gRPC status code seen.
	Code codes.Code
	// Err is the underlying error.
	Err error
}

func (e *TransportError) Error() string {
	return "plugin connection failed: " + e.Err.Error()
}

func (e *TransportError) Unwrap() error { return e.Err }

// IsTransport reports whether err is (or wraps) a TransportError.
func IsTransport(err error) bool {
	var te *TransportError
	return errors.As(err, &te)
}

// fromStatus turns an RPC error into a classified error. A status with an
// ErrorDetail becomes an *errclass.Error of that class with the plugin's
// message. A status without one came from gRPC itself: a cancelled ctx
// gives ctx.Err() (the caller stopped; never retried), a deadline or a
// broken connection gives a TRANSIENT TransportError, an over-sized message
// gives a PERMANENT protocol error, and anything else PERMANENT.
func fromStatus(ctx context.Context, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errclass.Wrap(errclass.Transient, &TransportError{Code: codes.Unknown, Err: err})
	}
	for _, d := range st.Details() {
		if detail, ok := d.(*pb.ErrorDetail); ok {
			return &errclass.Error{
				Class:      fromErrorClass(detail.GetClass()),
				RetryAfter: seconds(detail.GetRetryAfterSeconds()),
				Field:      detail.GetField(),
				Err:        errors.New(configkey.CutQuoted(st.Message())),
			}
		}
	}
	switch st.Code() {
	case codes.Canceled:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errclass.Wrap(errclass.Transient, &TransportError{Code: st.Code(), Err: errors.New(st.Message())})
	case codes.DeadlineExceeded:
		cause := context.DeadlineExceeded
		if msg := st.Message(); msg != cause.Error() {
			cause = fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)
		}
		return errclass.Wrap(errclass.Transient, &TransportError{Code: st.Code(), Err: cause})
	case codes.Unavailable:
		return errclass.Wrap(errclass.Transient, &TransportError{Code: st.Code(), Err: errors.New(st.Message())})
	case codes.ResourceExhausted:
		if strings.Contains(st.Message(), "larger than max") || strings.Contains(st.Message(), "message larger") {
			return errclass.Permanentf("protocol error: a message exceeded the %d MiB cap of the connector protocol (%s); ask for smaller pages", arrowipc.MaxMessageSize>>20, st.Message())
		}
		return errclass.RateLimitedf(0, "%s", st.Message())
	case codes.Unauthenticated:
		return errclass.AuthExpiredf("%s", st.Message())
	case codes.Unimplemented:
		return errclass.Wrap(errclass.Permanent, fmt.Errorf("%w (%s); it may be built for another protocol version", ErrNotImplemented, st.Message()))
	default:
		return errclass.Permanentf("%s", st.Message())
	}
}

// fromErrorClass converts a wire class to its domain form; UNSPECIFIED is
// PERMANENT.
func fromErrorClass(c pb.ErrorClass) errclass.Class {
	switch c {
	case pb.ErrorClass_ERROR_CLASS_TRANSIENT:
		return errclass.Transient
	case pb.ErrorClass_ERROR_CLASS_RATE_LIMITED:
		return errclass.RateLimited
	case pb.ErrorClass_ERROR_CLASS_AUTH_EXPIRED:
		return errclass.AuthExpired
	default:
		return errclass.Permanent
	}
}
