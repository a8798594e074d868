package rowhash_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/zeebo/xxh3"

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

// TestAddMatchesAppendValue checks Add's per-type fast paths against the
// reference rendering (AppendValue per value, xxh3 per row) over
// values around the edges: negative and far timestamps in every unit,
// fractions with trailing zeros, dates outside years 0 to 9999.
func TestAddMatchesAppendValue(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	units := []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond}
	fields := []arrow.Field{
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "d32", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	}
	for _, u := range units {
		fields = append(fields, arrow.Field{Name: "ts" + u.String(), Type: &arrow.TimestampType{Unit: u, TimeZone: "UTC"}, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	edges := []int64{0, -1, 1, 86399, 86400, -86400, -86401, 253402300799, 253402300800, -62135596800, -62167219200, -62167219201, -62162035200, 951782400, 1e12, -1e12}
	pick := func(scale int64) int64 {
		switch r.IntN(3) {
		case 0:
			return edges[r.IntN(len(edges))]*scale + int64(r.IntN(3)) - 1
		case 1:
			return r.Int64N(400*365*86400)*scale - 200*365*86400*scale
		default:
			return r.Int64() >> r.IntN(40)
		}
	}
	for range 20000 {
		null := func() bool { return r.IntN(10) == 0 }
		for j := range fields {
			if null() {
				b.Field(j).AppendNull()
				continue
			}
			switch fb := b.Field(j).(type) {
			case *array.Int32Builder:
				fb.Append(r.Int32() - 1<<30)
			case *array.Int64Builder:
				fb.Append(pick(1))
			case *array.Float64Builder:
				fb.Append(r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)))
			case *array.StringBuilder:
				fb.Append(strings.Repeat("x", r.IntN(5)))
			case *array.BooleanBuilder:
				fb.Append(r.IntN(2) == 0)
			case *array.Date32Builder:
				d := int32(pick(1) % 4_000_000)
				if r.IntN(2) == 0 {
					d = int32(pick(1)/86400) % 3_000_000
				}
				fb.Append(arrow.Date32(d))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(pick(1)))
			case *array.TimestampBuilder:
				scale := map[arrow.TimeUnit]int64{arrow.Second: 1, arrow.Millisecond: 1e3, arrow.Microsecond: 1e6, arrow.Nanosecond: 1}[fb.Type().(*arrow.TimestampType).Unit]
				v := pick(scale)
				if r.IntN(3) == 0 {
					v -= v % 1000 // trailing zeros in the fraction
				}
				fb.Append(arrow.Timestamp(v))
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var got rowhash.Sum
	got.Add(rec)
	var want rowhash.Sum
	var buf []byte
	for i := range int(rec.NumRows()) {
		buf = buf[:0]
		for j, c := range rec.Columns() {
			if j > 0 {
				buf = append(buf, 0x1f)
			}
			buf = rowhash.AppendValue(buf, c, i)
		}
		var one rowhash.Sum
		one.Hash = xxh3.Hash(buf)
		want.Merge(one)
		// Row by row, so a mismatch names the row (and a one-row slice's
		// non-null columns have no nulls, so Add skips their bitmaps).
		var row rowhash.Sum
		row.Add(rec.NewSlice(int64(i), int64(i+1)))
		if row.Hash != one.Hash {
			t.Fatalf("row %d: Add hashes differently from AppendValue's %q", i, buf)
		}
	}
	if got.Hash != want.Hash || got.Rows != rec.NumRows() {
		t.Fatalf("Add = %v, reference = %v", got, want)
	}
}

func BenchmarkAdd(b *testing.B) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	const n = 65536
	for i := range int64(n) {
		rb.Field(0).(*array.Int64Builder).Append(i)
		rb.Field(1).(*array.Int32Builder).Append(int32(i % 1000))
		rb.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(i % 100000))
		rb.Field(3).(*array.Float64Builder).Append(float64(i) * 0.001)
		rb.Field(4).(*array.StringBuilder).Append("customer 1234 0123456789abcdef0123456789abcdef")
		rb.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(1704067200000000 + i*1000000))
		rb.Field(6).(*array.Date32Builder).Append(arrow.Date32(18262 + i%2000))
		rb.Field(7).(*array.BooleanBuilder).Append(i%3 == 0)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	b.ResetTimer()
	for range b.N {
		var s rowhash.Sum
		s.Add(rec)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

// TestAddDaysCycling checks the day memo where it is used hardest: dates
// and timestamps cycling through more days than it holds, so that slots
// are reused for other days all along.
func TestAddDaysCycling(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range 30000 {
		day := int64(i*7919%5000 - 2500)
		b.Field(0).(*array.Date32Builder).Append(arrow.Date32(day))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp((day*86400 + int64(i)) * 1e6))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var got rowhash.Sum
	got.Add(rec)
	if want := refSum(rec); got != want {
		t.Fatalf("Add = %+v, AppendValue row by row = %+v", got, want)
	}
}

// refSum is the checksum of rec by the reference rendering: AppendValue
// per value, 0x1f between columns, xxh3 per row.
func refSum(rec arrow.RecordBatch) rowhash.Sum {
	var s rowhash.Sum
	var buf []byte
	for i := range int(rec.NumRows()) {
		buf = buf[:0]
		for j, c := range rec.Columns() {
			if j > 0 {
				buf = append(buf, 0x1f)
			}
			buf = rowhash.AppendValue(buf, c, i)
		}
		s.Merge(rowhash.Sum{Rows: 1, Hash: xxh3.Hash(buf)})
	}
	return s
}

// TestAddChunksMatchAppendValue checks Add's chunked, column-at-a-time
// rendering against the reference on every type with a renderer of its own
// (and a few without), each column twice, with nulls and without, for
// row counts around the chunk size and for slices starting at odd
// offsets, so that a value written to another row's place, a row hashed
// short or long, or a null bitmap or value read at the wrong offset shows.
// Values run through the edges of the fast paths: integers around powers
// of ten, decimals of every length below and above 10^8 at scales 0 to
// 12, short and long floats, runs of one day and dates cycling through
// thousands, fractions with trailing zeros, empty and long strings.
func TestAddChunksMatchAppendValue(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	types := []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Float32, arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString,
		arrow.BinaryTypes.Binary, arrow.FixedWidthTypes.Boolean, arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Date64,
	}
	for _, scale := range []int32{0, 1, 2, 7, 8, 12, 38, -2} {
		types = append(types, &arrow.Decimal128Type{Precision: 38, Scale: scale})
	}
	for _, u := range []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond} {
		types = append(types, &arrow.TimestampType{Unit: u, TimeZone: "UTC"})
	}
	var fields []arrow.Field
	for _, typ := range types {
		fields = append(fields, arrow.Field{Name: typ.String() + " no nulls", Type: typ}, arrow.Field{Name: typ.String(), Type: typ, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	intEdge := func() int64 {
		switch r.IntN(4) {
		case 0:
			p := int64(1)
			for range r.IntN(19) {
				p *= 10
			}
			return p + int64(r.IntN(3)) - 1
		case 1:
			return []int64{0, -1, math.MinInt64, math.MaxInt64, math.MinInt32, math.MaxInt32}[r.IntN(6)]
		default:
			return r.Int64() >> r.IntN(64)
		}
	}
	day := int64(19000)
	build := func(n int) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for range n {
			if r.IntN(8) == 0 { // a run of one day ends
				day = r.Int64N(6000) + 17000
				if r.IntN(20) == 0 {
					day = r.Int64N(8_000_000) - 4_000_000 // often outside years 0 to 9999
				}
			}
			for j := range fields {
				if fields[j].Nullable && r.IntN(4) == 0 {
					b.Field(j).AppendNull()
					continue
				}
				v := intEdge()
				switch fb := b.Field(j).(type) {
				case *array.Int8Builder:
					fb.Append(int8(v))
				case *array.Int16Builder:
					fb.Append(int16(v))
				case *array.Int32Builder:
					fb.Append(int32(v))
				case *array.Int64Builder:
					fb.Append(v)
				case *array.Uint8Builder:
					fb.Append(uint8(v))
				case *array.Uint16Builder:
					fb.Append(uint16(v))
				case *array.Uint32Builder:
					fb.Append(uint32(v))
				case *array.Uint64Builder:
					fb.Append(uint64(v))
				case *array.Float64Builder:
					f := float64(r.Int64N(1e6)) / math.Pow(10, float64(r.IntN(12)))
					switch r.IntN(4) {
					case 0:
						f = r.NormFloat64() * math.Pow(10, float64(r.IntN(24)-12))
					case 1:
						f = float64(r.IntN(100000)) * 0.001
					}
					if r.IntN(2) == 0 {
						f = -f
					}
					fb.Append(f)
				case *array.Float32Builder:
					fb.Append(float32(r.NormFloat64()))
				case *array.StringBuilder:
					fb.Append(strings.Repeat("é", r.IntN(3)*r.IntN(40)))
				case *array.LargeStringBuilder:
					fb.Append(strings.Repeat("y", r.IntN(70)))
				case *array.BinaryBuilder:
					fb.Append([]byte(strings.Repeat("\x01", r.IntN(5))))
				case *array.BooleanBuilder:
					fb.Append(r.IntN(2) == 0)
				case *array.Date32Builder:
					fb.Append(arrow.Date32(day + int64(r.IntN(2))))
				case *array.Date64Builder:
					fb.Append(arrow.Date64(day * 86400000))
				case *array.Decimal128Builder:
					m := decimal128.FromI64(v % int64(math.Pow10(r.IntN(12))))
					if r.IntN(10) == 0 {
						m = decimal128.New(r.Int64(), r.Uint64())
					}
					fb.Append(m)
				case *array.TimestampBuilder:
					per := map[arrow.TimeUnit]int64{arrow.Second: 1, arrow.Millisecond: 1e3, arrow.Microsecond: 1e6, arrow.Nanosecond: 1e9}[fb.Type().(*arrow.TimestampType).Unit]
					ts := (day*86400+r.Int64N(86400))*per + r.Int64N(per)
					if r.IntN(3) == 0 {
						ts -= ts % (per / min(per, 1000)) // trailing zeros in the fraction
					}
					if r.IntN(30) == 0 {
						ts = v
					}
					fb.Append(arrow.Timestamp(ts))
				}
			}
		}
		return b.NewRecordBatch()
	}
	for _, n := range []int{0, 1, 2, 63, 127, 128, 129, 255, 256, 257, 1000, 3000} {
		rec := build(n)
		var got rowhash.Sum
		got.Add(rec)
		if want := refSum(rec); got != want {
			t.Errorf("%d rows: Add = %v, reference = %v", n, got, want)
		}
		for _, off := range []int64{1, 3, 7, 64, 127, 129} {
			if off > int64(n) {
				continue
			}
			for _, end := range []int64{int64(n), off + (int64(n)-off)/2} {
				s := rec.NewSlice(off, end)
				var got rowhash.Sum
				got.Add(s)
				if want := refSum(s); got != want {
					t.Errorf("%d rows [%d:%d]: Add = %v, reference = %v", n, off, end, got, want)
				}
				s.Release()
			}
		}
		rec.Release()
	}
}

// TestAddNoColumns checks that rows without columns hash as the empty
// text, as they did row by row.
func TestAddNoColumns(t *testing.T) {
	rec := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 5)
	defer rec.Release()
	var got rowhash.Sum
	got.Add(rec)
	if want := refSum(rec); got != want {
		t.Fatalf("Add = %v, reference = %v", got, want)
	}
}

// TestAddLongStrings checks a batch of only (long) strings, where each
// row's room in the chunk is hardly more than its text.
func TestAddLongStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for range 700 {
		if r.IntN(10) == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(strings.Repeat(string(rune('a'+r.IntN(26))), r.IntN(300)))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for _, off := range []int64{0, 1, 200} {
		s := rec.NewSlice(off, rec.NumRows())
		var got rowhash.Sum
		got.Add(s)
		if want := refSum(s); got != want {
			t.Errorf("[%d:]: Add = %v, reference = %v", off, got, want)
		}
		s.Release()
	}
}
