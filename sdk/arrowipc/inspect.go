package arrowipc

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Layout is what Inspect reads of a page's Arrow IPC stream bytes without
// decoding any data: where the schema message ends, so two pages' schemas
// can be compared as bytes, and the row count the record batch header
// declares.
type Layout struct {
	// SchemaEnd is the length of the stream's leading schema message
	// (continuation marker, length prefix, metadata): data[:SchemaEnd]
	// identifies the schema.
	SchemaEnd int
	// Batches is the number of record batch messages.
	Batches int
	// Rows is the sum of the record batches' declared lengths.
	Rows int64
}

// Inspect walks the messages of Arrow IPC stream bytes (a schema message,
// then record batch messages, then an optional end-of-stream marker) and
// reads the row count of each record batch from its flatbuffer header. It
// checks the framing only; a damaged stream is an error naming what is
// wrong. Empty data is an error: it holds no schema.
func Inspect(data []byte) (Layout, error) {
	var l Layout
	off := 0
	for i := 0; off < len(data); i++ {
		m, next, err := frame(data, off)
		if err != nil {
			return l, fmt.Errorf("arrow ipc message %d: %w", i+1, err)
		}
		off = next
		if m.eos {
			break
		}
		switch {
		case i == 0 && m.typ != ipc.MessageSchema:
			return l, fmt.Errorf("arrow ipc stream starts with a %s message, not a schema", m.typ)
		case i == 0:
			l.SchemaEnd = next
		case m.typ == ipc.MessageRecordBatch:
			l.Batches++
			l.Rows += m.rows
		case m.typ == ipc.MessageSchema:
			return l, fmt.Errorf("arrow ipc message %d is a second schema", i+1)
		}
	}
	if l.SchemaEnd == 0 {
		return l, errors.New("arrow ipc stream holds no schema message")
	}
	if off != len(data) {
		return l, fmt.Errorf("arrow ipc stream has %d bytes after its end-of-stream marker", len(data)-off)
	}
	return l, nil
}

// message is what frame reads of one message.
type message struct {
	eos  bool // the end-of-stream marker
	typ  ipc.MessageType
	rows int64 // a record batch's declared length
}

// frame reads the message at off and returns it with the offset of the
// next message.
func frame(data []byte, off int) (message, int, error) {
	need := func(n int) error {
		if n < 0 || n > len(data)-off {
			return fmt.Errorf("truncated: want %d bytes at offset %d of %d", n, off, len(data))
		}
		return nil
	}
	if err := need(4); err != nil {
		return message{}, 0, err
	}
	n := binary.LittleEndian.Uint32(data[off:])
	off += 4
	if n == 0xFFFFFFFF {
		if err := need(4); err != nil {
			return message{}, 0, err
		}
		n = binary.LittleEndian.Uint32(data[off:])
		off += 4
	}
	if n == 0 {
		return message{eos: true}, off, nil
	}
	if int32(n) < 4 {
		return message{}, 0, fmt.Errorf("metadata length %d is invalid", int32(n))
	}
	if err := need(int(n)); err != nil {
		return message{}, 0, err
	}
	meta := data[off : off+int(n)]
	off += int(n)
	typ, bodyLen, rows, err := header(meta)
	if err != nil {
		return message{}, 0, err
	}
	if bodyLen < 0 || need(int(bodyLen)) != nil {
		return message{}, 0, fmt.Errorf("body of %d bytes does not fit the %d bytes left", bodyLen, len(data)-off)
	}
	return message{typ: typ, rows: rows}, off + int(bodyLen), nil
}

// header reads a Message flatbuffer: its type, its body length and, for
// a record batch, the batch's length (rows). The flatbuffer is read by
// hand (root offset, vtable, fields) to stay within bounds on any input.
func header(meta []byte) (typ ipc.MessageType, bodyLen, rows int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid message metadata: %v", r)
		}
	}()
	probe := ipc.NewMessage(memory.NewBufferBytes(meta), memory.NewBufferBytes(nil))
	typ, bodyLen = probe.Type(), probe.BodyLen()
	probe.Release()
	if typ != ipc.MessageRecordBatch {
		return typ, bodyLen, 0, nil
	}
	// Message: field 2 is the header union's value (an offset to the
	// RecordBatch table), whose field 0 is length (int64).
	msg, err := table(meta, 0, true)
	if err != nil {
		return typ, bodyLen, 0, err
	}
	hdr, ok, err := msg.offsetField(2)
	if err != nil || !ok {
		return typ, bodyLen, 0, errors.New("record batch message without a header")
	}
	rb, err := table(meta, hdr, false)
	if err != nil {
		return typ, bodyLen, 0, err
	}
	at, ok, err := rb.field(0, 8)
	if err != nil {
		return typ, bodyLen, 0, err
	}
	if ok {
		rows = int64(binary.LittleEndian.Uint64(meta[at:]))
	}
	if rows < 0 {
		return typ, bodyLen, 0, fmt.Errorf("record batch length %d is negative", rows)
	}
	return typ, bodyLen, rows, nil
}

// fbTable is a flatbuffer table inside buf: its position and its vtable's.
type fbTable struct {
	buf     []byte
	pos, vt int
	vtLen   int
}

// table finds the table at pos (root: pos holds the root offset itself).
func table(buf []byte, pos int, root bool) (fbTable, error) {
	u32 := func(at int) (int, error) {
		if at < 0 || at+4 > len(buf) {
			return 0, fmt.Errorf("flatbuffer offset %d out of range", at)
		}
		return int(binary.LittleEndian.Uint32(buf[at:])), nil
	}
	if root {
		o, err := u32(pos)
		if err != nil {
			return fbTable{}, err
		}
		pos += o
	}
	so, err := u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(so))
	if vt < 0 || vt+4 > len(buf) {
		return fbTable{}, fmt.Errorf("flatbuffer vtable at %d out of range", vt)
	}
	vtLen := int(binary.LittleEndian.Uint16(buf[vt:]))
	if vtLen < 4 || vt+vtLen > len(buf) {
		return fbTable{}, fmt.Errorf("flatbuffer vtable of %d bytes out of range", vtLen)
	}
	return fbTable{buf: buf, pos: pos, vt: vt, vtLen: vtLen}, nil
}

// field returns the position of field i (of size bytes), and false when
// the field is absent (its default applies).
func (t fbTable) field(i, size int) (int, bool, error) {
	slot := 4 + 2*i
	if slot+2 > t.vtLen {
		return 0, false, nil
	}
	o := int(binary.LittleEndian.Uint16(t.buf[t.vt+slot:]))
	if o == 0 {
		return 0, false, nil
	}
	at := t.pos + o
	if at+size > len(t.buf) {
		return 0, false, fmt.Errorf("flatbuffer field %d out of range", i)
	}
	return at, true, nil
}

// offsetField follows field i, an offset to another table.
func (t fbTable) offsetField(i int) (int, bool, error) {
	at, ok, err := t.field(i, 4)
	if err != nil || !ok {
		return 0, ok, err
	}
	return at + int(binary.LittleEndian.Uint32(t.buf[at:])), true, nil
}
