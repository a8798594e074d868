package sdk

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// toSpecResponse converts a domain Spec to its wire form; Resilience
// travels as a JSON object.
func toSpecResponse(s Spec) (*pb.SpecResponse, error) {
	var res []byte
	if len(s.Resilience) > 0 {
		b, err := json.Marshal(s.Resilience)
		if err != nil {
			return nil, fmt.Errorf("spec: resilience defaults: %w", err)
		}
		res = b
	}
	modes := make([]string, len(s.WriteModes))
	for i, m := range s.WriteModes {
		modes[i] = string(m)
	}
	return &pb.SpecResponse{
		Name:            s.Name,
		Version:         s.Version,
		ProtocolVersion: int32(s.ProtocolVersion),
		Source:          s.Source,
		Destination:     s.Destination,
		ConfigSchema:    s.ConfigSchema,
		ResilienceClass: string(s.ResilienceClass),
		Incremental:     s.Incremental,
		Upsert:          s.Upsert,
		Discover:        s.Discover,
		WriteModes:      modes,
		StoresState:     s.StoresState,
		LocalDiscover:   s.LocalDiscover,
		LocationKeys:    s.LocationKeys,
		Env:             s.Env,
		ResilienceJson:  res,
		HostKeys:        s.HostKeys,
		DefaultHost:     s.DefaultHost,
		Aliases:         s.Aliases,
		LegacyRetryKeys: s.LegacyRetryKeys,
	}, nil
}

// toConfigureResponse converts field errors to their wire form.
func toConfigureResponse(errs []FieldError) *pb.ConfigureResponse {
	out := &pb.ConfigureResponse{}
	for _, e := range errs {
		out.FieldErrors = append(out.FieldErrors, &pb.FieldError{Field: e.Field, Message: e.Message})
	}
	return out
}

// toDiscoverResponse converts streams to their wire form.
func toDiscoverResponse(streams []Stream) (*pb.DiscoverResponse, error) {
	out := &pb.DiscoverResponse{}
	for _, s := range streams {
		schema, err := arrowipc.EncodeSchema(s.Schema)
		if err != nil {
			return nil, fmt.Errorf("stream %q: %w", s.Name, err)
		}
		out.Streams = append(out.Streams, &pb.Stream{
			Name: s.Name, ArrowSchema: schema, PrimaryKey: s.PrimaryKey, CursorFields: s.CursorFields, Default: s.Default,
			EstimatedRows: s.EstimatedRows,
		})
	}
	return out, nil
}

// fromReadPageRequest converts a wire read request to its domain form.
func fromReadPageRequest(r *pb.ReadPageRequest) ReadRequest {
	return ReadRequest{
		Stream:      r.GetStream(),
		Checkpoint:  r.GetCheckpoint(),
		MaxRows:     r.GetMaxRows(),
		MaxBytes:    r.GetMaxBytes(),
		CursorField: r.GetCursorField(),
		CursorValue: r.GetCursorValueJson(),
	}
}

// toReadPageResponse encodes a page, into a buffer from lender when it is
// not nil. It releases p.Records.
func toReadPageResponse(p Page, lender lender) (*pb.ReadPageResponse, error) {
	out := &pb.ReadPageResponse{
		Checkpoint:      p.Checkpoint,
		Done:            p.Done,
		CursorValueJson: p.CursorValue,
		RateHints:       toRateHints(p.RateHints),
	}
	if p.Records != nil {
		defer p.Records.Release()
		var buf []byte
		if lender != nil {
			buf = lender.Lend(arrowipc.EncodedSize(p.Records))
		}
		data, err := arrowipc.EncodeRecordTo(buf, p.Records)
		if buf != nil && (err != nil || len(data) == 0 || &data[0] != &buf[:1][0]) {
			lender.Reclaim(buf) // not sent from buf: an error, or it outgrew it
		}
		if err != nil {
			return nil, err
		}
		out.Records = data
		out.NumRows = p.Records.NumRows()
	} else if !p.Done {
		return nil, fmt.Errorf("connector returned a page with no records that is not done")
	}
	if !p.Done && len(p.Checkpoint) == 0 {
		return nil, fmt.Errorf("connector returned a page with an empty checkpoint that is not done")
	}
	return out, nil
}

// lender hands out buffers that gRPC gives back once it has sent them
// (*protocol.Codec).
type lender interface {
	Lend(n int) []byte
	Reclaim(b []byte)
}

// toRateHints converts rate hints to their wire form; nil stays nil.
func toRateHints(h *RateHints) *pb.RateHints {
	if h == nil {
		return nil
	}
	return &pb.RateHints{
		Remaining:         h.Remaining,
		Limit:             h.Limit,
		ResetSeconds:      h.Reset.Seconds(),
		RestoreRate:       h.RestoreRate,
		Cost:              h.Cost,
		RetryAfterSeconds: h.RetryAfter.Seconds(),
	}
}

// fromBeginWriteRequest converts a wire BeginWrite request to its domain form.
func fromBeginWriteRequest(r *pb.BeginWriteRequest) (WriteRequest, error) {
	schema, err := arrowipc.DecodeSchema(r.GetArrowSchema())
	if err != nil {
		return WriteRequest{}, err
	}
	return WriteRequest{
		WriteID:       r.GetWriteId(),
		Flow:          r.GetFlow(),
		Target:        r.GetTarget(),
		DefaultTarget: r.GetDefaultTarget(),
		Schema:        schema,
		Mode:          WriteMode(r.GetMode()),
		Key:           r.GetKey(),
	}, nil
}

// fromCheckWriteRequest converts a wire CheckWrite request to its domain
// form: a WriteRequest without write id or schema.
func fromCheckWriteRequest(r *pb.CheckWriteRequest) WriteRequest {
	return WriteRequest{
		Flow:          r.GetFlow(),
		Target:        r.GetTarget(),
		DefaultTarget: r.GetDefaultTarget(),
		Mode:          WriteMode(r.GetMode()),
		Key:           r.GetKey(),
	}
}

// toStatus converts a connector error to a gRPC status error carrying an
// ErrorDetail. An error without a class is sent as PERMANENT: a connector
// that did not say a failure is retryable must not be retried blindly.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	class := errclass.Of(err)
	if class == errclass.Unknown {
		class = errclass.Permanent
	}
	var field string
	var ce *errclass.Error
	var after time.Duration
	if asErr(err, &ce) {
		field = ce.Field
		after = ce.RetryAfter
	}
	st := status.New(grpcCode(class), sanitize(err.Error()))
	withDetail, derr := st.WithDetails(&pb.ErrorDetail{
		Class:             toErrorClass(class),
		RetryAfterSeconds: after.Seconds(),
		Field:             field,
	})
	if derr != nil {
		return st.Err()
	}
	return withDetail.Err()
}

// grpcCode picks the gRPC status code that best matches a class, for tools
// that read only the code.
func grpcCode(c errclass.Class) codes.Code {
	switch c {
	case errclass.Transient:
		return codes.Unavailable
	case errclass.RateLimited:
		return codes.ResourceExhausted
	case errclass.AuthExpired:
		return codes.Unauthenticated
	default:
		return codes.FailedPrecondition
	}
}

// toErrorClass converts a class to its wire enum.
func toErrorClass(c errclass.Class) pb.ErrorClass {
	switch c {
	case errclass.Transient:
		return pb.ErrorClass_ERROR_CLASS_TRANSIENT
	case errclass.RateLimited:
		return pb.ErrorClass_ERROR_CLASS_RATE_LIMITED
	case errclass.AuthExpired:
		return pb.ErrorClass_ERROR_CLASS_AUTH_EXPIRED
	case errclass.Permanent:
		return pb.ErrorClass_ERROR_CLASS_PERMANENT
	default:
		return pb.ErrorClass_ERROR_CLASS_UNSPECIFIED
	}
}
