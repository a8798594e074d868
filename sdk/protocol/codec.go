package protocol

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
)

// aliasThreshold is the payload size from which Codec passes a batch's
// Arrow bytes by reference instead of copying them; below it the copy
// costs less than the extra bookkeeping.
const aliasThreshold = 16 << 10

// Codec returns the gRPC codec both sides of the connector protocol use.
// It writes and reads the standard protobuf wire format, so it speaks to
// any plugin or host built with gRPC's default codec (its name is "proto"),
// but it moves the Arrow bytes of a page (ReadPageResponse.records) and of
// a batch (WriteBatchRequest.records) without the copies the default codec
// makes:
//
//   - Marshal does not copy the records into the encoded message: it
//     encodes the other fields, then hands gRPC the records slice itself
//     as the last buffer (protobuf fields may come in any order). The
//     slice must not be modified until the call returns, which holds for
//     every message the SDK and the host build.
//   - Unmarshal copies the received frames once into a new buffer and
//     points records at its bytes, where the default codec copies them
//     once into a pooled buffer and again into the field.
//
// Every other message goes through package proto unchanged.
func Codec() encoding.CodecV2 { return codec{} }

type codec struct{}

// Name is "proto": the content subtype every gRPC peer expects of
// protobuf messages.
func (codec) Name() string { return "proto" }

// records returns a pointer to the Arrow bytes field of m and its field
// number, or nil for messages without one.
func records(m proto.Message) (*[]byte, protowire.Number) {
	switch m := m.(type) {
	case *pb.ReadPageResponse:
		return &m.Records, 1
	case *pb.WriteBatchRequest:
		return &m.Records, 3
	}
	return nil, 0
}

// Marshal encodes v.
func (codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("protocol codec: cannot marshal %T, want a proto.Message", v)
	}
	field, num := records(m)
	if field == nil || len(*field) < aliasThreshold {
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	payload := *field
	*field = nil
	head, err := proto.Marshal(m)
	*field = payload
	if err != nil {
		return nil, err
	}
	head = protowire.AppendTag(head, num, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(payload)))
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(payload)}, nil
}

// Unmarshal decodes data into v.
func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("protocol codec: cannot unmarshal into %T, want a proto.Message", v)
	}
	field, num := records(m)
	if field == nil || data.Len() < aliasThreshold {
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		defer buf.Free()
		return proto.Unmarshal(buf.ReadOnlyData(), m)
	}
	b := data.Materialize()
	payload, rest, err := cutBytesField(b, num)
	if err != nil {
		return fmt.Errorf("protocol codec: %T: %w", m, err)
	}
	if err := proto.Unmarshal(rest, m); err != nil {
		return err
	}
	if len(payload) > 0 { // proto.Unmarshal leaves an empty bytes field nil
		*field = payload
	}
	return nil
}

// cutBytesField splits the encoded message b into the value of its bytes
// field num (the last occurrence wins, as in proto.Unmarshal; a slice of
// b) and the encoding of every other field. rest is b
// itself when the field is absent.
func cutBytesField(b []byte, num protowire.Number) (payload, rest []byte, err error) {
	var (
		found bool
		start int    // where the bytes after the last occurrence cut begin
		kept  []byte // the other fields before start
	)
	for off := 0; off < len(b); {
		n, typ, tagLen := protowire.ConsumeTag(b[off:])
		if tagLen < 0 {
			return nil, nil, fmt.Errorf("bad field tag at byte %d: %w", off, protowire.ParseError(tagLen))
		}
		valLen := protowire.ConsumeFieldValue(n, typ, b[off+tagLen:])
		if valLen < 0 {
			return nil, nil, fmt.Errorf("bad value of field %d at byte %d: %w", n, off, protowire.ParseError(valLen))
		}
		end := off + tagLen + valLen
		if n == num && typ == protowire.BytesType {
			payload, _ = protowire.ConsumeBytes(b[off+tagLen : end])
			kept = append(kept, b[start:off]...)
			start, found = end, true
		}
		off = end
	}
	if !found {
		return nil, b, nil
	}
	return payload, append(kept, b[start:]...), nil
}
