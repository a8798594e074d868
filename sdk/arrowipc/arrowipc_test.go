package arrowipc_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
)

func sample(t *testing.T) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "", "c"}, []bool{true, false, true})
	return b.NewRecordBatch()
}

func TestRecordRoundTrip(t *testing.T) {
	rec := sample(t)
	defer rec.Release()
	data, err := arrowipc.EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := arrowipc.DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if !array.RecordEqual(rec, got) {
		t.Fatalf("round trip changed the batch:\n%v\n%v", rec, got)
	}
	if !got.Column(1).IsNull(1) {
		t.Fatal("null did not survive")
	}
}

func TestSchemaRoundTrip(t *testing.T) {
	rec := sample(t)
	defer rec.Release()
	data, err := arrowipc.EncodeSchema(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	got, err := arrowipc.DecodeSchema(data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(rec.Schema()) {
		t.Fatalf("schema changed: %v", got)
	}
	if s, err := arrowipc.DecodeSchema(nil); s != nil || err != nil {
		t.Fatalf("empty bytes: got %v, %v", s, err)
	}
	if b, err := arrowipc.EncodeSchema(nil); b != nil || err != nil {
		t.Fatalf("nil schema: got %v, %v", b, err)
	}
}

func TestDecodeBad(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not arrow at all")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := arrowipc.DecodeRecord(tt.data); err == nil {
				t.Fatal("expected an error")
			}
		})
	}
	rec := sample(t)
	defer rec.Release()
	schemaOnly, _ := arrowipc.EncodeSchema(rec.Schema())
	if _, err := arrowipc.DecodeRecord(schemaOnly); err == nil {
		t.Fatal("a schema-only stream must not decode as a batch")
	}
}

// BenchmarkEncodeRecord encodes a page of about 8 MiB (the default page).
func BenchmarkEncodeRecord(b *testing.B) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	for i := 0; i < 200000; i++ {
		bld.Field(0).(*array.Int64Builder).Append(int64(i))
		bld.Field(1).(*array.StringBuilder).Append("a string of about thirty bytes")
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data, err := arrowipc.EncodeRecord(rec)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}

// TestDecodeRecordAliasesAndTruncation checks that a decoded batch's
// buffers are slices of the input (no copy) and that every truncation of
// a valid encoding is an error, never a panic or a short batch.
func TestDecodeRecordAliasesAndTruncation(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range 1000 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("v")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	data, err := arrowipc.EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := arrowipc.DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	vals := got.Column(0).Data().Buffers()[1].Bytes()
	if !array.RecordEqual(rec, got) {
		t.Fatal("decoded batch differs")
	}
	first := &vals[0]
	inData := false
	for i := range data {
		if &data[i] == first {
			inData = true
			break
		}
	}
	if !inData {
		t.Error("DecodeRecord copied the values; want slices of the input")
	}
	got.Release()
	for n := range len(data) - 8 { // the last 8 bytes are the end-of-stream marker
		if r, err := arrowipc.DecodeRecord(data[:n]); err == nil {
			r.Release()
			t.Fatalf("DecodeRecord of the first %d of %d bytes: no error", n, len(data))
		}
	}
}
