// Package arrowipc converts Arrow record batches and schemas to and from the
// Arrow IPC stream bytes that cross the connector boundary, and owns the
// message size cap both sides of the protocol share.
package arrowipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// MaxMessageSize is the largest gRPC message either side of the connector
// protocol sends or accepts: 256 MiB. Pages default to about 8 MiB of Arrow
// data, so this leaves room for a page 30 times the default (a wide table,
// large JSON values) while still bounding what one bad plugin can make the
// host allocate. gRPC's own default is 4 MiB, which go-plugin leaves in
// place on the plugin's server and which has broken other hosts on the
// first large page. It is not configurable: both sides must agree, and a
// page over the cap is a protocol error with a clear message, not a hang.
const MaxMessageSize = 256 << 20

// MaxRecordBytes is the largest encoded record batch that fits in one
// message, leaving 1 MiB for the rest of the message (checkpoint, hints).
const MaxRecordBytes = MaxMessageSize - 1<<20

// ErrTooLarge is returned when an encoded batch exceeds MaxRecordBytes. Test
// with errors.Is.
var ErrTooLarge = errors.New("arrow batch exceeds the protocol's message size cap")

// EncodeRecord returns rec as Arrow IPC stream bytes: the schema message
// followed by one record batch message and the end-of-stream marker.
func EncodeRecord(rec arrow.RecordBatch) ([]byte, error) {
	return EncodeRecordTo(nil, rec)
}

// EncodedSize is about the size of rec's IPC encoding (a little more): a
// buffer of this size given to EncodeRecordTo is not outgrown.
func EncodedSize(rec arrow.RecordBatch) int {
	n := int(BufferSize(rec))
	return n + n/64 + 4096
}

// EncodeRecordTo is EncodeRecord writing into dst's spare capacity from
// its start (dst[:0]); the result shares dst's memory unless it did not
// fit, when it is a new buffer.
func EncodeRecordTo(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	buf := bytes.NewBuffer(dst[:0])
	// Grow once to about the final size: growing by doubling cost ~4% of
	// a flow's CPU (copies of ever larger buffers).
	buf.Grow(EncodedSize(rec))
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	if err := w.Write(rec); err != nil {
		return nil, fmt.Errorf("encode arrow batch: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode arrow batch: %w", err)
	}
	if buf.Len() > MaxRecordBytes {
		return nil, fmt.Errorf("%w: %d rows encode to %d bytes, the cap is %d; ask for smaller pages (max_rows/max_bytes)",
			ErrTooLarge, rec.NumRows(), buf.Len(), MaxRecordBytes)
	}
	return buf.Bytes(), nil
}

// DecodeRecord reads the single record batch of Arrow IPC stream bytes. The
// caller releases the result. Bytes holding no batch are an error.
//
// The batch's buffers are slices of data, not copies (a page is decoded
// without copying its 8 MiB again): data must not be modified while the
// batch is in use.
func DecodeRecord(data []byte) (arrow.RecordBatch, error) {
	r, err := ipc.NewReaderFromMessageReader(&sliceMessages{data: data}, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("decode arrow batch: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("decode arrow batch: %w", err)
		}
		return nil, errors.New("decode arrow batch: the IPC stream holds no record batch")
	}
	rec := r.RecordBatch()
	rec.Retain()
	if r.Next() {
		rec.Release()
		return nil, errors.New("decode arrow batch: the IPC stream holds more than one record batch")
	}
	if err := r.Err(); err != nil {
		rec.Release()
		return nil, fmt.Errorf("decode arrow batch: %w", err)
	}
	return rec, nil
}

// EncodeSchema returns schema as Arrow IPC bytes (a stream holding only the
// schema message). A nil schema encodes to nil.
func EncodeSchema(schema *arrow.Schema) ([]byte, error) {
	if schema == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode arrow schema: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeSchema reads a schema encoded by EncodeSchema (or the schema of any
// IPC stream). Empty bytes decode to a nil schema.
func DecodeSchema(data []byte) (*arrow.Schema, error) {
	if len(data) == 0 {
		return nil, nil
	}
	r, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode arrow schema: %w", err)
	}
	defer r.Release()
	return r.Schema(), nil
}

// BufferSize is the bytes of the Arrow buffers rec references: every
// column's buffers, its children's and its dictionary's (the buffers of a
// sliced array count in full, as the IPC encoder of a slice may write
// them): a close estimate of its IPC encoding, which adds padding and
// flatbuffer headers. It is the measure connectors bound pages and row
// groups by.
func BufferSize(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += arrayBufferSize(c.Data())
	}
	return n
}

func arrayBufferSize(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBufferSize(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += arrayBufferSize(d.Dictionary())
	}
	return n
}

// sliceMessages is an ipc.MessageReader over IPC stream bytes in memory
// that hands out each message's metadata and body as slices of them,
// where ipc.NewMessageReader would copy every body into a new buffer.
type sliceMessages struct {
	data []byte
	off  int
	msg  *ipc.Message
}

// Message returns the next message, or io.EOF at the end of the stream.
func (r *sliceMessages) Message() (msg *ipc.Message, err error) {
	defer func() {
		if p := recover(); p != nil { // a damaged flatbuffer
			msg, err = nil, fmt.Errorf("arrow/ipc: invalid message metadata: %v", p)
		}
	}()
	next := func(n int) ([]byte, error) {
		if n < 0 || n > len(r.data)-r.off {
			return nil, fmt.Errorf("arrow/ipc: truncated message: want %d bytes at offset %d of %d", n, r.off, len(r.data))
		}
		b := r.data[r.off : r.off+n : r.off+n]
		r.off += n
		return b, nil
	}
	if r.off == len(r.data) {
		return nil, io.EOF
	}
	var h []byte
	if h, err = next(4); err != nil {
		return nil, err
	}
	msgLen := int32(binary.LittleEndian.Uint32(h))
	switch uint32(msgLen) {
	case 0:
		return nil, io.EOF
	case 0xFFFFFFFF: // continuation token, then the length
		if h, err = next(4); err != nil {
			return nil, err
		}
		if msgLen = int32(binary.LittleEndian.Uint32(h)); msgLen == 0 {
			return nil, io.EOF
		}
	}
	if msgLen < 4 {
		return nil, fmt.Errorf("arrow/ipc: invalid message metadata length %d", msgLen)
	}
	meta, err := next(int(msgLen))
	if err != nil {
		return nil, err
	}
	metaBuf := memory.NewBufferBytes(meta)
	// The body's length is in the metadata: read it through a message
	// with an empty body, then make the real one.
	probe := ipc.NewMessage(metaBuf, memory.NewBufferBytes([]byte{}))
	bodyLen := probe.BodyLen()
	probe.Release()
	if bodyLen < 0 || bodyLen > int64(len(r.data)-r.off) {
		return nil, fmt.Errorf("arrow/ipc: invalid message body length %d (%d bytes left)", bodyLen, len(r.data)-r.off)
	}
	body, _ := next(int(bodyLen))
	if r.msg != nil {
		r.msg.Release()
	}
	r.msg = ipc.NewMessage(metaBuf, memory.NewBufferBytes(body))
	return r.msg, nil
}

func (r *sliceMessages) Retain() {}

func (r *sliceMessages) Release() {
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}
