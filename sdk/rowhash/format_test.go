package rowhash

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checkFloat fails t when appendFloat64 and strconv disagree on v.
func checkFloat(t testing.TB, v float64) {
	t.Helper()
	var b1, b2 [32]byte
	got := appendFloat64(b1[:0], v)
	want := strconv.AppendFloat(b2[:0], v, 'g', -1, 64)
	if string(got) != string(want) {
		t.Fatalf("appendFloat64(%v) (bits %#x) = %q, strconv = %q", v, math.Float64bits(v), string(got), string(want))
	}
}

// TestFloat64Special compares appendFloat64 with strconv on zeros, NaN,
// infinities, extremes, the edges of the fast path's range and the examples.
func TestFloat64Special(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 0x1p-1022, 1, -1, 0.1, 0.2, 0.3,
		0.30000000000000004, 1e-4, 1e-5, 1e6, 1e5, 999999.999999999, 999999.9999999999, 99999.99999999999,
		0.0001, 0.00009999999999999999, 1e21, 1e22, 1e23, 123456789012345, 1234567890123456, 12.5,
		0.001, 4999.999, 1234.56, 100000, 0.00012345678901234} {
		checkFloat(t, v)
		checkFloat(t, -v)
	}
}

// TestShortDecimalTaken checks that the fast path serves the values it is
// for (TestFloat64* would pass with it never taken).
func TestShortDecimalTaken(t *testing.T) {
	for _, v := range []float64{12.5, 0.001, 4999.999, 1234.56, 1e-4, 999999, 123456.789012345, 0.000123456789012345, 42} {
		if _, _, ok := shortDecimal(v); !ok {
			t.Errorf("shortDecimal(%v) not taken", v)
		}
	}
	point1 := 0.1
	for _, v := range []float64{point1 + 0.2, 1e6, 9.999e-5, 1234.5678901234567} {
		if _, _, ok := shortDecimal(v); ok {
			t.Errorf("shortDecimal(%v) taken", v)
		}
	}
}

// TestFloat64MatchesStrconv compares appendFloat64 with strconv on millions
// of values from several distributions, each also negated.
func TestFloat64MatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n, m := 300_000, 5_000_000 // random values per distribution, i*0.001 up to m
	if testing.Short() {
		n, m = 20_000, 100_000
	}
	both := func(v float64) { checkFloat(t, v); checkFloat(t, -v) }
	for range n {
		both(math.Float64frombits(r.Uint64()))               // random bits
		both(math.Float64frombits(r.Uint64() & (1<<52 - 1))) // subnormals
		both(math.Pow(10, r.Float64()*10-4))                 // spread over [1e-4, 1e6)
		both(float64(r.Int64N(1<<53)) / math.Pow(10, float64(r.IntN(20))))
		digits := r.IntN(17) + 1 // k/10^d, k of 1 to 17 digits, via the parser
		k := r.Int64N(int64(math.Pow10(digits)))
		v, _ := strconv.ParseFloat(strconv.FormatInt(k, 10)+"e-"+strconv.Itoa(r.IntN(24)), 64)
		both(v)
		both(float64(r.Int64N(1 << 53))) // integers up to 2^53
		both(float64(r.IntN(2_000_000)))
	}
	for i := range m { // the benchmark's score column (the sign is tested above)
		checkFloat(t, float64(i)*0.001)
	}
	for i := range m / 5 {
		both(float64(i) / 1000)
	}
	for e := -5; e <= 7; e++ { // around every power of ten near the %f/%e switch
		p := math.Pow10(e)
		for _, dir := range []float64{0, math.Inf(1)} {
			v := p
			for range 2000 {
				both(v)
				v = math.Nextafter(v, dir)
			}
		}
	}
}

// FuzzFloat compares appendFloat64 with strconv on the fuzzer's bit
// patterns and on the decimals k·10^-d
// (go test -run '^$' -fuzz FuzzFloat -fuzztime 30s ./sdk/rowhash/).
func FuzzFloat(f *testing.F) {
	for _, v := range []float64{0, 12.5, 0.001, 4999.999, 1234.56, 1e-4, 1e6, 0.30000000000000004, -7.25, 1e300, 5e-324} {
		f.Add(math.Float64bits(v), int64(v*1000), uint8(3))
	}
	f.Fuzz(func(t *testing.T, bits uint64, k int64, d uint8) {
		checkFloat(t, math.Float64frombits(bits))
		v, _ := strconv.ParseFloat(strconv.FormatInt(k, 10)+"e-"+strconv.Itoa(int(d%32)), 64)
		checkFloat(t, v)
	})
}

// refDecimal renders v at scale as the package's canonical decimal text
// by another road, for TestDecimal128MatchesReference: math/big's exact
// fraction printed with scale digits, then trimmed (a negative scale is
// arrow's own text, as the package keeps it).
func refDecimal(v decimal128.Num, scale int32) string {
	if scale < 0 {
		return v.ToString(scale)
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	s := new(big.Rat).SetFrac(v.BigInt(), pow).FloatString(int(scale))
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// TestDecimal128MatchesReference compares appendDecimal128 with an
// independent rendering (refDecimal) for every precision and scale (and a few negative
// scales) on random values of every digit count, their negations, zero and
// the int64/uint64 edges.
func TestDecimal128MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	edges := []decimal128.Num{decimal128.FromI64(0), decimal128.FromI64(1), decimal128.FromI64(-1),
		decimal128.FromI64(math.MaxInt64), decimal128.FromI64(math.MinInt64), decimal128.FromI64(math.MinInt64 + 1),
		decimal128.FromU64(math.MaxUint64), decimal128.FromU64(1 << 63), decimal128.New(-1, 1<<63), decimal128.New(-1, 1),
		decimal128.New(-1, 0), decimal128.New(1, 0), decimal128.New(-2, math.MaxUint64), decimal128.MaxDecimal128, decimal128.MaxDecimal128.Negate()}
	for prec := int32(1); prec <= 38; prec++ {
		scales := []int32{}
		for s := int32(0); s <= prec; s++ {
			scales = append(scales, s)
		}
		scales = append(scales, -1, -5)
		for _, scale := range scales {
			typ := &arrow.Decimal128Type{Precision: prec, Scale: scale}
			b := array.NewDecimal128Builder(memory.DefaultAllocator, typ)
			for _, v := range edges {
				b.Append(v)
			}
			for range 400 {
				digits := r.IntN(int(prec)) + 1
				v := decimal128.New(r.Int64(), r.Uint64())
				if r.IntN(4) > 0 { // a value of digits digits, as a column of this precision holds
					v = decimal128.FromU64(r.Uint64()).Mul(decimal128.FromU64(r.Uint64())).Abs()
					v, _ = v.Div(decimal128.GetScaleMultiplier(38 - digits))
					for v.Greater(decimal128.GetMaxValue(int32(digits))) {
						v, _ = v.Div(decimal128.FromI64(10))
					}
				}
				if r.IntN(3) == 0 { // trailing zeros
					v, _ = v.Div(decimal128.FromI64(1000))
					v = v.Mul(decimal128.FromI64(1000))
				}
				if r.IntN(2) == 0 {
					v = v.Negate()
				}
				b.Append(v)
			}
			arr := b.NewDecimal128Array()
			for i := range arr.Len() {
				got, want := appendDecimal128(nil, arr, i), refDecimal(arr.Value(i), scale)
				if string(got) != want {
					t.Fatalf("decimal(%d,%d) %v: %q, want %q", prec, scale, arr.Value(i), got, want)
				}
			}
			arr.Release()
			b.Release()
		}
	}
}

// BenchmarkFloat64 formats the benchmark's score column (i*0.001), with
// strconv and with appendFloat64.
func BenchmarkFloat64(b *testing.B) {
	vs := make([]float64, 65536)
	fast := 0
	for i := range vs {
		vs[i] = float64(i) * 0.001
		if _, _, ok := shortDecimal(vs[i]); ok {
			fast++
		}
	}
	b.Logf("%d of %d short decimals", fast, len(vs))
	buf := make([]byte, 0, 32)
	b.Run("strconv", func(b *testing.B) {
		for i := range b.N {
			buf = strconv.AppendFloat(buf[:0], vs[i%len(vs)], 'g', -1, 64)
		}
	})
	b.Run("appendFloat64", func(b *testing.B) {
		for i := range b.N {
			buf = appendFloat64(buf[:0], vs[i%len(vs)])
		}
	})
}

// BenchmarkDecimal128 formats the benchmark's price column (decimal(12,2),
// i%100000) with appendDecimal128 (the previous implementation, through
// Num.ToString, ran at about 38 ns a value against 18 on the machine of
// the change).
func BenchmarkDecimal128(b *testing.B) {
	db := array.NewDecimal128Builder(memory.DefaultAllocator, &arrow.Decimal128Type{Precision: 12, Scale: 2})
	defer db.Release()
	for i := range int64(65536) {
		db.Append(decimal128.FromI64(i % 100000))
	}
	arr := db.NewDecimal128Array()
	defer arr.Release()
	buf := make([]byte, 0, 32)
	for i := range b.N {
		buf = appendDecimal128(buf[:0], arr, i%arr.Len())
	}
}

// TestEightDigits checks the SWAR digits of eightDigits against put4's
// table for every value below 10^8.
func TestEightDigits(t *testing.T) {
	step := uint32(1)
	if testing.Short() {
		step = 97
	}
	var want [8]byte
	for v := uint32(0); v < 1e8; v += step {
		put4(want[:4], v/1e4)
		put4(want[4:], v%1e4)
		var got [8]byte
		put8(got[:], v)
		if got != want {
			t.Fatalf("eightDigits(%d) = %q", v, got[:])
		}
	}
}

// TestCivil compares civil (Neri and Schneider) with H. Hinnant's
// algorithm on every day it handles, and checks it refuses the days
// around.
func TestCivil(t *testing.T) {
	for days := int64(-719468); days <= 2932896; days++ {
		z := days + 719468
		era := z / 146097
		doe := z - era*146097
		yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
		y := yoe + era*400
		doy := doe - (365*yoe + yoe/4 - yoe/100)
		mp := (5*doy + 2) / 153
		d := doy - (153*mp+2)/5 + 1
		m := mp + 3
		if mp >= 10 {
			m = mp - 9
		}
		if m <= 2 {
			y++
		}
		gy, gm, gd, ok := civil(days)
		if !ok || int64(gy) != y || int64(gm) != m || int64(gd) != d {
			t.Fatalf("civil(%d) = %d-%d-%d %v, want %d-%d-%d", days, gy, gm, gd, ok, y, m, d)
		}
	}
	for _, days := range []int64{-719469, 2932897, math.MinInt64, math.MaxInt64} {
		if _, _, _, ok := civil(days); ok {
			t.Errorf("civil(%d) ok", days)
		}
	}
}

// TestPutIntegers compares putInt and putUint with strconv on edges
// (around every power of ten) and random values of every length, with
// garbage after the buffer's end to catch a wrong length.
func TestPutIntegers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var vs []uint64
	for _, p := range pow10u {
		vs = append(vs, p-1, p, p+1)
	}
	vs = append(vs, 0, math.MaxUint64, math.MaxInt64, 1<<63)
	for range 200000 {
		vs = append(vs, r.Uint64()>>r.IntN(64))
	}
	buf := make([]byte, 32)
	for _, u := range vs {
		for i := range buf {
			buf[i] = 'x'
		}
		if got, want := string(buf[:putUint(buf, 0, u)]), strconv.FormatUint(u, 10); got != want {
			t.Fatalf("putUint(%d) = %q", u, got)
		}
		for _, v := range []int64{int64(u), -int64(u)} {
			if got, want := string(buf[:putInt(buf, 0, v)]), strconv.FormatInt(v, 10); got != want {
				t.Fatalf("putInt(%d) = %q", v, got)
			}
		}
	}
}

// TestPutDecimal compares putDecimal's word path with putPlain for every
// scale it takes, on values of every length below and just above 10^8,
// with trailing zeros or without, and signs.
func TestPutDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	buf1, buf2 := make([]byte, 64), make([]byte, 64)
	for scale := range 12 {
		for range 20000 {
			m := r.Uint64N(pow10u[r.IntN(10)])
			if r.IntN(3) == 0 {
				m -= m % pow10u[r.IntN(6)]
			}
			neg := r.IntN(2) == 0
			got := string(buf1[:putDecimal(buf1, 0, neg, m, scale)])
			want := string(buf2[:putPlain(buf2, 0, neg, m, scale)])
			if got != want {
				t.Fatalf("putDecimal(%v, %d, %d) = %q, putPlain %q", neg, m, scale, got, want)
			}
		}
	}
}
