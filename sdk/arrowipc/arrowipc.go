// Package arrowipc converts Arrow record batches and schemas to and from the
// Arrow IPC stream bytes that cross the connector boundary, and owns the
// message size cap both sides of the protocol share.
package arrowipc

import (
	"bytes"
	"errors"
	"fmt"

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
	var buf bytes.Buffer
	// Grow once to about the final size: growing by doubling cost ~4% of
	// a flow's CPU (copies of ever larger buffers).
	buf.Grow(dataSize(rec) + 4096)
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
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
func DecodeRecord(data []byte) (arrow.RecordBatch, error) {
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(memory.DefaultAllocator))
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

// dataSize is the size of rec's Arrow buffers, a close estimate of its IPC
// encoding (which adds padding and flatbuffer headers).
func dataSize(rec arrow.RecordBatch) int {
	n := 0
	for _, c := range rec.Columns() {
		n += arrayDataSize(c.Data())
	}
	return n
}

func arrayDataSize(d arrow.ArrayData) int {
	n := 0
	for _, b := range d.Buffers() {
		if b != nil {
			n += b.Len()
		}
	}
	for _, c := range d.Children() {
		n += arrayDataSize(c)
	}
	return n
}
