package protocol

import (
	"fmt"
	"sync"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
)

// aliasThreshold is the payload size from which Codec passes a batch's
// Arrow bytes by reference instead of copying them; below it the copy
// costs less than the extra bookkeeping.
const aliasThreshold = 16 << 10

// Codec is the gRPC codec both sides of the connector protocol use. It
// writes and reads the standard protobuf wire format, so it speaks to any
// plugin or host built with gRPC's default codec (its name is "proto"),
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
//   - A side that sends pages can encode them into buffers from Lend: gRPC
//     gives such a buffer back to the codec once it has written it, and
//     the next page is encoded into it instead of into fresh memory that
//     the runtime must clear (8 MiB a page).
//   - A side that receives pages can give a page's records back with
//     Reclaim once it is done with them (the host, after the destination
//     has the batch): the next page is gathered into the same memory.
//
// Every other message goes through package proto unchanged. Use one Codec
// per gRPC server or connection; its methods are safe for concurrent use.
type Codec struct {
	mu   sync.Mutex
	lent map[*byte]*[]byte // buffers out (lent, or holding a received page), by the first byte handed out
	free []*[]byte         // buffers back (from gRPC or Reclaim), ready to use again
}

// maxFree is how many buffers a Codec keeps for lending again; a plugin
// has at most a page being sent and one being read ahead. maxLent bounds
// the buffers it tracks as lent, should some never come back.
const (
	maxFree = 4
	maxLent = 8
)

// NewCodec returns a codec with nothing lent.
func NewCodec() *Codec { return &Codec{lent: map[*byte]*[]byte{}} }

// Lend returns an empty buffer with room for at least n bytes in which to
// encode the records of a message this codec will marshal. When Marshal
// is given records that begin at the buffer's first byte (encoded into
// it without outgrowing it), gRPC hands the buffer back once it has
// written it and the caller must not touch it after the call. A buffer
// whose records are not marshaled (an error before the answer, or
// records that outgrew it and moved) must be given back with Reclaim.
func (c *Codec) Lend(n int) []byte {
	n = max(n, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.freeLocked(n)
	if p == nil {
		b := make([]byte, 0, n)
		p = &b
	}
	b := (*p)[:cap(*p)]
	c.trackLocked(&b[0], p)
	return b[:0]
}

// trackLocked records p as out, by the first byte of what was handed out
// of it. Past maxLent it forgets one: a buffer whose message was never
// marshaled, or whose page was never reclaimed, is then left to the
// garbage collector (if its message is marshaled after all, it goes as a
// plain slice).
func (c *Codec) trackLocked(first *byte, p *[]byte) {
	if len(c.lent) >= maxLent {
		for k := range c.lent {
			delete(c.lent, k)
			break
		}
	}
	c.lent[first] = p
}

// Reclaim takes back a buffer from Lend whose records will not be
// marshaled, or the records of a ReadPageResponse this codec decoded
// once nothing uses them any more: the next page is gathered into that
// memory instead of into a new buffer the runtime must clear. Other
// slices are ignored.
func (c *Codec) Reclaim(b []byte) {
	if cap(b) == 0 {
		return
	}
	b = b[:1]
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.lent[&b[0]]; ok {
		delete(c.lent, &b[0])
		c.putLocked(p)
	}
}

// take removes records' buffer from the lent ones; nil when records do
// not start a lent buffer.
func (c *Codec) take(records []byte) *[]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.lent[&records[0]]
	if !ok {
		return nil
	}
	delete(c.lent, &records[0])
	return p
}

func (c *Codec) putLocked(p *[]byte) {
	if len(c.free) < maxFree {
		*p = (*p)[:0]
		c.free = append(c.free, p)
	}
}

// Get is for gRPC (mem.BufferPool): it is never asked, as the codec hands
// gRPC only buffers it made.
func (c *Codec) Get(n int) *[]byte {
	b := make([]byte, n)
	return &b
}

// Put is for gRPC (mem.BufferPool): a lent buffer comes back here once
// gRPC has written it.
func (c *Codec) Put(p *[]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(p)
}

// Name is "proto": the content subtype every gRPC peer expects of
// protobuf messages.
func (c *Codec) Name() string { return "proto" }

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
func (c *Codec) Marshal(v any) (mem.BufferSlice, error) {
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
	if p := c.take(payload); p != nil {
		*p = payload
		return mem.BufferSlice{mem.SliceBuffer(head), mem.NewBuffer(p, c)}, nil
	}
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(payload)}, nil
}

// Unmarshal decodes data into v.
func (c *Codec) Unmarshal(data mem.BufferSlice, v any) error {
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
	_, page := m.(*pb.ReadPageResponse)
	var p *[]byte // the buffer a page is gathered into, to be reclaimed
	var b []byte
	if page {
		p = c.reuse(data.Len())
		b = (*p)[:data.Len()]
	} else {
		b = make([]byte, data.Len())
	}
	data.CopyTo(b)
	payload, rest, err := cutBytesField(b, num)
	if err == nil {
		err = proto.Unmarshal(rest, m)
	}
	if err != nil {
		if p != nil {
			c.Put(p)
		}
		return fmt.Errorf("protocol codec: %T: %w", m, err)
	}
	if len(payload) == 0 { // proto.Unmarshal leaves an empty bytes field nil
		if p != nil {
			c.Put(p)
		}
		return nil
	}
	*field = payload
	if p != nil {
		c.mu.Lock()
		c.trackLocked(&payload[0], p)
		c.mu.Unlock()
	}
	return nil
}

// reuse returns a buffer of at least n bytes to gather a page into: a
// reclaimed one (not cleared: every byte is overwritten) or a new one.
func (c *Codec) reuse(n int) *[]byte {
	c.mu.Lock()
	p := c.freeLocked(n)
	c.mu.Unlock()
	if p == nil {
		b := make([]byte, n)
		p = &b
	}
	return p
}

// freeLocked takes a kept buffer with room for n bytes; nil when none has.
func (c *Codec) freeLocked(n int) *[]byte {
	for i, f := range c.free {
		if cap(*f) >= n {
			c.free = append(c.free[:i], c.free[i+1:]...)
			return f
		}
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
