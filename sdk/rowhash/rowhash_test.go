package rowhash_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

func batch(t *testing.T, typ arrow.DataType, ids []int64, names []string, valid []bool) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: typ}, {Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, id := range ids {
		switch fb := b.Field(0).(type) {
		case *array.Int64Builder:
			fb.Append(id)
		case *array.Int32Builder:
			fb.Append(int32(id))
		}
		if valid[i] {
			b.Field(1).(*array.StringBuilder).Append(names[i])
		} else {
			b.Field(1).AppendNull()
		}
	}
	return b.NewRecordBatch()
}

func TestOrderAndBatchingIndependent(t *testing.T) {
	a := batch(t, arrow.PrimitiveTypes.Int64, []int64{1, 2, 3}, []string{"a", "b", ""}, []bool{true, true, false})
	defer a.Release()
	b1 := batch(t, arrow.PrimitiveTypes.Int32, []int64{3}, []string{""}, []bool{false})
	defer b1.Release()
	b2 := batch(t, arrow.PrimitiveTypes.Int64, []int64{2, 1}, []string{"b", "a"}, []bool{true, true})
	defer b2.Release()
	var s1, s2 rowhash.Sum
	s1.Add(a)
	s2.Add(b1)
	s2.Add(b2)
	if s1 != s2 {
		t.Fatalf("%v != %v", s1, s2)
	}
}

func TestNullDiffersFromEmpty(t *testing.T) {
	n := batch(t, arrow.PrimitiveTypes.Int64, []int64{1}, []string{""}, []bool{false})
	defer n.Release()
	e := batch(t, arrow.PrimitiveTypes.Int64, []int64{1}, []string{""}, []bool{true})
	defer e.Release()
	var s1, s2 rowhash.Sum
	s1.Add(n)
	s2.Add(e)
	if s1.Hash == s2.Hash {
		t.Fatal("null and empty string hash alike")
	}
}

func TestDuplicatesCount(t *testing.T) {
	a := batch(t, arrow.PrimitiveTypes.Int64, []int64{1, 1}, []string{"x", "x"}, []bool{true, true})
	defer a.Release()
	var s rowhash.Sum
	s.Add(a)
	if s.Hash == 0 || s.Rows != 2 {
		t.Fatalf("duplicates cancelled out: %v", s)
	}
}

func TestDecimalCanonicalForm(t *testing.T) {
	tests := []struct {
		scale int32
		v     decimal128.Num
		want  string
	}{
		{0, decimal128.FromI64(0), "0"},
		{2, decimal128.FromI64(0), "0"},
		{2, decimal128.FromI64(150), "1.5"},
		{2, decimal128.FromI64(200), "2"},
		{2, decimal128.FromI64(-5), "-0.05"},
		{5, decimal128.FromI64(1), "0.00001"},
		{3, decimal128.FromI64(-12345), "-12.345"},
		{0, decimal128.FromI64(-42), "-42"},
		{2, decimal128.New(1, 0), "184467440737095516.16"}, // 2^64, beyond int64
		{0, decimal128.New(-1, 0), "-18446744073709551616"},
	}
	for _, tt := range tests {
		typ := &arrow.Decimal128Type{Precision: 38, Scale: tt.scale}
		b := array.NewDecimal128Builder(memory.DefaultAllocator, typ)
		b.Append(tt.v)
		arr := b.NewDecimal128Array()
		if got := string(rowhash.AppendValue(nil, arr, 0)); got != tt.want {
			t.Errorf("scale %d: %q, want %q", tt.scale, got, tt.want)
		}
		arr.Release()
		b.Release()
	}
}
