package arrowipc_test

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
)

func recordOf(t testing.TB, rows int) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("x")
	}
	return b.NewRecordBatch()
}

func TestInspect(t *testing.T) {
	for _, rows := range []int{0, 1, 1000} {
		rec := recordOf(t, rows)
		data, err := arrowipc.EncodeRecord(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		l, err := arrowipc.Inspect(data)
		if err != nil {
			t.Fatalf("%d rows: %v", rows, err)
		}
		if l.Rows != int64(rows) || l.Batches != 1 {
			t.Errorf("%d rows: Inspect says %d rows in %d batches", rows, l.Rows, l.Batches)
		}
		schema, err := arrowipc.EncodeSchema(rec.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(schema, data[:l.SchemaEnd]) {
			t.Errorf("%d rows: data[:SchemaEnd] is not the schema message", rows)
		}
	}
}

func TestInspectSchemaOnly(t *testing.T) {
	rec := recordOf(t, 3)
	defer rec.Release()
	schema, err := arrowipc.EncodeSchema(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	l, err := arrowipc.Inspect(schema)
	if err != nil {
		t.Fatal(err)
	}
	if l.Rows != 0 || l.Batches != 0 || l.SchemaEnd == 0 {
		t.Errorf("schema-only stream: %+v", l)
	}
}

func TestInspectDamaged(t *testing.T) {
	rec := recordOf(t, 50)
	data, err := arrowipc.EncodeRecord(rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arrowipc.Inspect(nil); err == nil {
		t.Error("empty data: no error")
	}
	if _, err := arrowipc.Inspect([]byte("not arrow at all")); err == nil {
		t.Error("garbage: no error")
	}
	// Every truncation is an error or (cut at a message boundary) a
	// shorter, still valid stream; never a panic.
	for n := 1; n < len(data); n++ {
		l, err := arrowipc.Inspect(data[:n])
		if err == nil && l.Rows == 50 && n < len(data)-8 {
			t.Fatalf("cut at %d of %d bytes: no error and all rows", n, len(data))
		}
	}
	// Flipped bytes never panic.
	for i := range data {
		d := bytes.Clone(data)
		d[i] ^= 0xff
		_, _ = arrowipc.Inspect(d)
	}
}

func FuzzInspect(f *testing.F) {
	rec := recordOf(f, 5)
	data, _ := arrowipc.EncodeRecord(rec)
	rec.Release()
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = arrowipc.Inspect(b)
	})
}
