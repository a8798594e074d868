package protocol

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
)

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// split cuts b into buffers of at most n bytes, as gRPC hands a message
// over in HTTP/2 frames.
func split(b []byte, n int) mem.BufferSlice {
	var s mem.BufferSlice
	for len(b) > n {
		s = append(s, mem.SliceBuffer(b[:n]))
		b = b[n:]
	}
	return append(s, mem.SliceBuffer(b))
}

func messages() map[string]proto.Message {
	return map[string]proto.Message{
		"large page": &pb.ReadPageResponse{Records: payload(3 << 20), Checkpoint: []byte(`{"after":42}`), Done: true,
			CursorValueJson: []byte(`"2024-01-01"`), RateHints: &pb.RateHints{RetryAfterSeconds: 1.5}},
		"small page":    &pb.ReadPageResponse{Records: payload(100), Checkpoint: []byte("c")},
		"empty page":    &pb.ReadPageResponse{Done: true},
		"large batch":   &pb.WriteBatchRequest{WriteId: "w-1", Seq: 7, Records: payload(1 << 20)},
		"small batch":   &pb.WriteBatchRequest{WriteId: "w-1", Seq: 1, Records: payload(10)},
		"other message": &pb.CommitWriteRequest{WriteId: "w-1", State: payload(64 << 10)},
	}
}

// TestCodecWireCompatible checks that the codec's encoding is the
// protobuf wire format both ways: what it marshals, package proto reads
// back equal; what package proto marshals, it reads back equal. That is
// what lets a host and a plugin built with gRPC's default codec talk to
// this one.
func TestCodecWireCompatible(t *testing.T) {
	c := NewCodec()
	if c.Name() != "proto" {
		t.Fatalf("Name() = %q, want proto (the content subtype peers expect)", c.Name())
	}
	for name, m := range messages() {
		t.Run(name, func(t *testing.T) {
			enc, err := c.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got := m.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(enc.Materialize(), got); err != nil {
				t.Fatalf("proto.Unmarshal of the codec's encoding: %v", err)
			}
			if !proto.Equal(got, m) {
				t.Fatalf("proto.Unmarshal of the codec's encoding differs from the message")
			}
			std, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, frame := range []int{len(std) + 1, 16 << 10, 1000} {
				got := m.ProtoReflect().New().Interface()
				if err := c.Unmarshal(split(std, frame), got); err != nil {
					t.Fatalf("Unmarshal of proto.Marshal's encoding in %d-byte frames: %v", frame, err)
				}
				if !proto.Equal(got, m) {
					t.Fatalf("Unmarshal of proto.Marshal's encoding in %d-byte frames differs from the message", frame)
				}
			}
		})
	}
}

// TestCodecMarshalLeavesMessage checks that Marshal puts the records back
// and hands gRPC the records slice itself rather than a copy.
func TestCodecMarshalLeavesMessage(t *testing.T) {
	rec := payload(1 << 20)
	m := &pb.WriteBatchRequest{WriteId: "w", Seq: 3, Records: rec}
	enc, err := NewCodec().Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if &m.Records[0] != &rec[0] || len(m.Records) != len(rec) {
		t.Fatal("Marshal did not restore the message's records")
	}
	last := enc[len(enc)-1].ReadOnlyData()
	if len(last) != len(rec) || &last[0] != &rec[0] {
		t.Fatal("Marshal copied the records instead of passing them on")
	}
	if enc.Len() != proto.Size(m) {
		t.Fatalf("encoded %d bytes, proto.Size says %d", enc.Len(), proto.Size(m))
	}
}

// TestCodecRepeatedField checks proto's rule for a bytes field that occurs
// more than once on the wire (the last one wins) with the other fields
// kept, wherever the occurrences are.
func TestCodecRepeatedField(t *testing.T) {
	first, last := payload(40<<10), bytes.Repeat([]byte{9}, 50<<10)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, first)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("ckpt"))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, last)
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)

	want := &pb.ReadPageResponse{}
	if err := proto.Unmarshal(b, want); err != nil {
		t.Fatal(err)
	}
	got := &pb.ReadPageResponse{}
	if err := NewCodec().Unmarshal(split(b, 16<<10), got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) || !bytes.Equal(got.Records, last) || string(got.Checkpoint) != "ckpt" || !got.Done {
		t.Fatalf("got records %d bytes, checkpoint %q, done %v", len(got.Records), got.Checkpoint, got.Done)
	}
}

// TestCodecBadInput checks that a truncated or malformed message is an
// error, as it is for package proto, not a panic or a short page.
func TestCodecBadInput(t *testing.T) {
	good, err := proto.Marshal(&pb.WriteBatchRequest{WriteId: "w", Seq: 1, Records: payload(64 << 10)})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"truncated records": good[:len(good)-10],
		"bad tag":           append(bytes.Repeat([]byte{0xff}, 11), good...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			err := NewCodec().Unmarshal(split(b, 16<<10), &pb.WriteBatchRequest{})
			if err == nil {
				t.Fatal("Unmarshal accepted a malformed message")
			}
			if proto.Unmarshal(b, &pb.WriteBatchRequest{}) == nil {
				t.Fatal("the case is not malformed for package proto either")
			}
		})
	}
	if _, err := NewCodec().Marshal("not a message"); err == nil || !strings.Contains(err.Error(), "string") {
		t.Fatalf("Marshal of a string: %v", err)
	}
	if err := NewCodec().Unmarshal(nil, 42); err == nil {
		t.Fatal("Unmarshal into an int succeeded")
	}
}

// BenchmarkCodec compares the codec with package proto on an 8 MiB page,
// the default page cap, received in 16 KiB frames.
func BenchmarkCodec(b *testing.B) {
	m := &pb.ReadPageResponse{Records: payload(8 << 20), Checkpoint: []byte(`{"after":42}`)}
	std, _ := proto.Marshal(m)
	frames := split(std, 16<<10)
	b.Run("codec", func(b *testing.B) {
		b.SetBytes(int64(len(std)))
		for b.Loop() {
			enc, _ := NewCodec().Marshal(m)
			_ = enc
			var got pb.ReadPageResponse
			if err := NewCodec().Unmarshal(frames, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proto", func(b *testing.B) {
		b.SetBytes(int64(len(std)))
		for b.Loop() {
			enc, _ := proto.Marshal(m)
			_ = enc
			buf := frames.MaterializeToBuffer(mem.DefaultBufferPool())
			var got pb.ReadPageResponse
			if err := proto.Unmarshal(buf.ReadOnlyData(), &got); err != nil {
				b.Fatal(err)
			}
			buf.Free()
		}
	})
}

// TestCodecLend checks the lending cycle: records encoded into a lent
// buffer go to gRPC as a buffer that comes back to the codec when freed,
// and the next Lend hands out the same memory; a buffer reclaimed
// unsent is lent again too; other records are passed on as they are.
func TestCodecLend(t *testing.T) {
	c := NewCodec()
	buf := c.Lend(1 << 20)
	if len(buf) != 0 || cap(buf) < 1<<20 {
		t.Fatalf("Lend(1 MiB) = len %d cap %d", len(buf), cap(buf))
	}
	first := &buf[:1][0]
	rec := append(buf, payload(1<<20)...)
	enc, err := c.Marshal(&pb.ReadPageResponse{Records: rec, Checkpoint: []byte("c")})
	if err != nil {
		t.Fatal(err)
	}
	if _, plain := enc[len(enc)-1].(mem.SliceBuffer); plain {
		t.Fatal("records in a lent buffer were passed on as a plain slice: they would never come back")
	}
	if again := c.Lend(1 << 20); &again[:1][0] == first {
		t.Fatal("a buffer gRPC has not freed yet was lent again")
	}
	enc.Free() // what gRPC does once the message is written
	if again := c.Lend(1 << 20); &again[:1][0] != first {
		t.Fatal("the freed buffer was not lent again")
	}

	unsent := c.Lend(2 << 20)
	c.Reclaim(unsent)
	if again := c.Lend(2 << 20); &again[:1][0] != &unsent[:1][0] {
		t.Fatal("a reclaimed buffer was not lent again")
	}
	c.Reclaim(payload(10)) // not lent: ignored

	enc, err = c.Marshal(&pb.WriteBatchRequest{WriteId: "w", Records: payload(1 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	if _, plain := enc[len(enc)-1].(mem.SliceBuffer); !plain {
		t.Fatal("records that were not lent went to gRPC as a pooled buffer")
	}
}

// TestCodecLendBounded checks that buffers lent and never marshaled do
// not pile up, and that marshaling one the codec has forgotten still
// sends it whole (as a plain slice).
func TestCodecLendBounded(t *testing.T) {
	c := NewCodec()
	var bufs [][]byte
	for range 3 * maxLent {
		bufs = append(bufs, c.Lend(64<<10))
	}
	if n := len(c.lent); n > maxLent {
		t.Fatalf("%d buffers tracked as lent, the bound is %d", n, maxLent)
	}
	for _, b := range bufs {
		rec := append(b, payload(64<<10)...)
		enc, err := c.Marshal(&pb.ReadPageResponse{Records: rec})
		if err != nil {
			t.Fatal(err)
		}
		got := &pb.ReadPageResponse{}
		if err := proto.Unmarshal(enc.Materialize(), got); err != nil || !bytes.Equal(got.Records, rec) {
			t.Fatalf("records lost: %v", err)
		}
		enc.Free()
	}
}

// TestCodecReclaimPage checks the receiving side: a page's records given
// back with Reclaim are where the next page is gathered, and a page not
// given back is never overwritten.
func TestCodecReclaimPage(t *testing.T) {
	c := NewCodec()
	recv := func(fill byte) *pb.ReadPageResponse {
		t.Helper()
		std, err := proto.Marshal(&pb.ReadPageResponse{Records: bytes.Repeat([]byte{fill}, 1<<20), Checkpoint: []byte("c")})
		if err != nil {
			t.Fatal(err)
		}
		m := &pb.ReadPageResponse{}
		if err := c.Unmarshal(split(std, 16<<10), m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := recv(1)
	held := recv(2) // never given back
	c.Reclaim(first.Records)
	third := recv(3)
	if &third.Records[0] != &first.Records[0] {
		t.Fatal("the next page was not gathered into the reclaimed one's memory")
	}
	if !bytes.Equal(held.Records, bytes.Repeat([]byte{2}, 1<<20)) || !bytes.Equal(third.Records, bytes.Repeat([]byte{3}, 1<<20)) {
		t.Fatal("a page's bytes changed")
	}
	if string(third.Checkpoint) != "c" {
		t.Fatalf("checkpoint %q", third.Checkpoint)
	}
	// A batch the receiving plugin keeps is never taken back.
	std, _ := proto.Marshal(&pb.WriteBatchRequest{WriteId: "w", Records: payload(1 << 20)})
	batch := &pb.WriteBatchRequest{}
	if err := c.Unmarshal(split(std, 16<<10), batch); err != nil {
		t.Fatal(err)
	}
	c.Reclaim(batch.Records)
	if next := recv(4); &next.Records[0] == &batch.Records[0] {
		t.Fatal("a batch's memory was reused")
	}
}
