package rowhash

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/zeebo/xxh3"
)

// chunkRows is how many rows Add renders at a time: enough that the loop
// over a column's values runs long, few enough that the chunk's text
// (about 230 reserved bytes a row for the benchmark's 8 columns) stays in
// the CPU's caches until it is hashed.
const chunkRows = 128

// chunk is Add's scratch: the text of up to chunkRows rows, rendered
// column by column. Row r owns buf[start[r]:start[r+1]], sized for the
// longest text each of its values can have, so that a column can write
// row r's value at end[r] without looking at the other columns; end[r]
// then moves past the value and its 0x1f separator.
type chunk struct {
	buf        []byte
	start, end []int
	// overflow is set by a column whose value did not fit the width it
	// reserved (which the widths are chosen never to allow); addChunk
	// then renders the chunk again value by value with AppendValue.
	overflow bool
}

// column renders one column of a batch a chunk at a time, with a loop
// specialised for its type (chosen once per batch, in newColumn).
type column struct {
	// width is the room a row's value can take (null marker included,
	// and whole words that the fast paths store past a short value),
	// besides what reserve adds.
	width int
	// reserve, if set, adds the room rows lo..hi-1 need besides width to
	// room[0:hi-lo] (strings: their length).
	reserve func(lo, hi int, room []int)
	// render writes rows lo..hi-1, each at c.end[r] followed by 0x1f.
	render func(c *chunk, lo, hi int)
}

// nulls reads a validity bitmap; bm is nil for a column without nulls,
// whose bitmap is not read at all.
type nulls struct {
	bm  []byte
	off int
}

func nullsOf(a arrow.Array) nulls {
	if a.NullN() == 0 {
		return nulls{}
	}
	return nulls{bm: a.NullBitmapBytes(), off: a.Data().Offset()}
}

// null reports whether row i is null (as arrow.Array.IsNull).
func (n nulls) null(i int) bool {
	if len(n.bm) == 0 {
		return false
	}
	j := n.off + i
	return n.bm[j>>3]&(1<<(j&7)) == 0
}

// nullText is nullMarker as an array, stored with one move.
var nullText = [len(nullMarker)]byte([]byte(nullMarker))

// putNull writes the null marker at buf[p:] and returns the end.
func putNull(buf []byte, p int) int {
	*(*[len(nullMarker)]byte)(buf[p:]) = nullText
	return p + len(nullMarker)
}

// newColumn picks the renderer of column a. Types without one of their
// own are rendered with AppendValue into a side buffer first.
func newColumn(a arrow.Array) column {
	n := nullsOf(a)
	switch a := a.(type) {
	case *array.Int8:
		return intColumn(a.Int8Values(), n, 4)
	case *array.Int16:
		return intColumn(a.Int16Values(), n, 6)
	case *array.Int32:
		return intColumn(a.Int32Values(), n, 11)
	case *array.Int64:
		return intColumn(a.Int64Values(), n, 20)
	case *array.Uint8:
		return uintColumn(a.Uint8Values(), n, 3)
	case *array.Uint16:
		return uintColumn(a.Uint16Values(), n, 5)
	case *array.Uint32:
		return uintColumn(a.Uint32Values(), n, 10)
	case *array.Uint64:
		return uintColumn(a.Uint64Values(), n, 20)
	case *array.Float64:
		return float64Column(a.Float64Values(), n)
	case *array.String:
		return stringColumn(a.ValueOffsets(), a.ValueBytes(), n)
	case *array.LargeString:
		return stringColumn(a.ValueOffsets(), a.ValueBytes(), n)
	case *array.Boolean:
		return boolColumn(a, n)
	case *array.Timestamp:
		return timestampColumn(a.TimestampValues(), a.DataType().(*arrow.TimestampType).Unit, n)
	case *array.Date32:
		return date32Column(a.Date32Values(), n)
	case *array.Decimal128:
		if scale := a.DataType().(*arrow.Decimal128Type).Scale; scale >= 0 && scale <= 38 {
			return decimal128Column(a, n)
		}
	}
	return genericColumn(a)
}

// fits finishes a value out that a slow path appended to c.buf[p:p:p+w]:
// it returns the end of the value, or p with c.overflow set when the value
// was longer than w. (Growing the slice, append leaves c.buf untouched;
// out is copied in if it was built elsewhere but fits.)
func (c *chunk) fits(p int, out []byte, w int) int {
	if len(out) > w {
		c.overflow = true
		return p
	}
	if len(out) > 0 && &out[0] != &c.buf[p] {
		copy(c.buf[p:], out)
	}
	return p + len(out)
}

// intColumn renders signed integers in decimal (as strconv.AppendInt);
// width is the longest, sign included (room for at least 9 bytes is
// reserved, which putInt writes).
func intColumn[T int8 | int16 | int32 | int64](vs []T, n nulls, width int) column {
	return column{width: max(width, 9), render: func(c *chunk, lo, hi int) {
		buf, end := c.buf, c.end[:hi-lo]
		n, vs := n, vs // locals, kept in registers (captured ones are reloaded after every store)
		for r, p := range end {
			if i := lo + r; n.null(i) {
				p = putNull(buf, p)
			} else {
				p = putInt(buf, p, int64(vs[i]))
			}
			buf[p] = 0x1f
			end[r] = p + 1
		}
	}}
}

// uintColumn renders unsigned integers in decimal (as strconv.AppendUint).
func uintColumn[T uint8 | uint16 | uint32 | uint64](vs []T, n nulls, width int) column {
	return column{width: max(width, 8), render: func(c *chunk, lo, hi int) {
		buf, end := c.buf, c.end[:hi-lo]
		n, vs := n, vs // see intColumn
		for r, p := range end {
			if i := lo + r; n.null(i) {
				p = putNull(buf, p)
			} else {
				p = putUint(buf, p, uint64(vs[i]))
			}
			buf[p] = 0x1f
			end[r] = p + 1
		}
	}}
}

// float64Width is the longest 'g' -1 rendering of a float64
// ("-2.2250738585072014e-308").
const float64Width = 24

// float64Column renders as appendFloat64: zeros and short decimals by
// putFloat64, the rest by strconv straight into the row.
func float64Column(vs []float64, n nulls) column {
	return column{width: float64Width, render: func(c *chunk, lo, hi int) {
		buf, end := c.buf, c.end[:hi-lo]
		n, vs := n, vs // see intColumn
		for r, p := range end {
			i := lo + r
			if n.null(i) {
				p = putNull(buf, p)
			} else if q, ok := putFloat64(buf, p, vs[i]); ok {
				p = q
			} else {
				p = c.fits(p, strconv.AppendFloat(buf[p:p:p+float64Width], vs[i], 'g', -1, 64), float64Width)
			}
			buf[p] = 0x1f
			end[r] = p + 1
		}
	}}
}

// stringColumn copies string values (offsets and data as the arrays'
// ValueOffsets and ValueBytes return them, data starting at offs[0]).
func stringColumn[O int32 | int64](offs []O, data []byte, n nulls) column {
	base := offs[0]
	return column{
		width: len(nullMarker),
		reserve: func(lo, hi int, room []int) {
			o := offs[lo : hi+1]
			for r := range room[:hi-lo] {
				room[r] += int(o[r+1] - o[r])
			}
		},
		render: func(c *chunk, lo, hi int) {
			buf, end := c.buf, c.end[:hi-lo]
			n, offs, data, base := n, offs, data, base // see intColumn
			for r, p := range end {
				if i := lo + r; n.null(i) {
					p = putNull(buf, p)
				} else {
					p += copy(buf[p:], data[offs[i]-base:offs[i+1]-base])
				}
				buf[p] = 0x1f
				end[r] = p + 1
			}
		},
	}
}

// boolColumn renders "true" and "false", reading the value bitmap
// directly and storing the word of either text (8 bytes reserved) without
// a branch on the value.
func boolColumn(a *array.Boolean, n nulls) column {
	var vals []byte
	if b := a.Data().Buffers()[1]; b != nil { // nil in an empty array
		vals = b.Bytes()
	}
	off := a.Data().Offset()
	const (
		trueWord  = 't' | 'r'<<8 | 'u'<<16 | 'e'<<24
		falseWord = 'f' | 'a'<<8 | 'l'<<16 | 's'<<24 | 'e'<<32
	)
	return column{width: 8, render: func(c *chunk, lo, hi int) {
		buf, end := c.buf, c.end[:hi-lo]
		n, vals, off := n, vals, off // see intColumn
		for r, p := range end {
			if i := lo + r; n.null(i) {
				p = putNull(buf, p)
			} else {
				j := off + i
				t := uint64(vals[j>>3]>>(j&7)) & 1 // 1 for true
				binary.LittleEndian.PutUint64(buf[p:], falseWord^(falseWord^trueWord)&-t)
				p += 5 - int(t)
			}
			buf[p] = 0x1f
			end[r] = p + 1
		}
	}}
}

// decimal128Width is the longest text of a decimal with a scale of 0 to
// 38: 39 digits, a sign, a point and a leading "0".
const decimal128Width = 42

// decimal128Column renders as appendDecimal128 (scale 0 to 38): values
// whose magnitude fits in a uint64 by putDecimal in place, the rest by
// appendDecimal128.
func decimal128Column(a *array.Decimal128, n nulls) column {
	scale := int(a.DataType().(*arrow.Decimal128Type).Scale)
	vs := a.Values()
	return column{width: decimal128Width, render: func(c *chunk, lo, hi int) {
		buf, end := c.buf, c.end[:hi-lo]
		n, vs, scale := n, vs, scale // see intColumn
		for r, p := range end {
			i := lo + r
			h, l := vs[i].HighBits(), vs[i].LowBits()
			switch {
			case n.null(i):
				p = putNull(buf, p)
			case h == 0:
				p = putDecimal(buf, p, false, l, scale)
			case h == -1 && l != 0: // -(2^64 - l), magnitude -l mod 2^64
				p = putDecimal(buf, p, true, -l, scale)
			default:
				p = c.fits(p, appendDecimal128(buf[p:p:p+decimal128Width], a, i), decimal128Width)
			}
			buf[p] = 0x1f
			end[r] = p + 1
		}
	}}
}

// putDecimal is putPlain, faster for the common decimal, below 10^8
// with a scale below 8: it takes the digits of m as one word of
// fourDigits or eightDigits, skips its leading '0's (up to the units
// digit) and trailing fraction '0's by counting zero bytes, and writes the
// integer and the fraction digits with a store each. It writes up to 17
// bytes, the last ones garbage past the end.
func putDecimal(buf []byte, p int, neg bool, m uint64, scale int) int {
	if m >= 1e8 || scale >= 8 || m == 0 {
		return putPlain(buf, p, neg, m, scale)
	}
	// w holds nd digits, digit i in byte i; the last scale are the
	// fraction. z has a zero byte for each '0' and for each byte past nd.
	var w, z uint64
	nd := 8
	if m < 1e4 && scale < 4 {
		w, nd = fourDigits(uint32(m)), 4
		z = w ^ 0x30303030
	} else {
		w = eightDigits(uint32(m))
		z = w ^ 0x30303030_30303030
	}
	lead := min(bits.TrailingZeros64(z)/8, nd-1-scale)
	frac := max(scale-(bits.LeadingZeros64(z)/8-(8-nd)), 0)
	if neg {
		buf[p] = '-'
		p++
	}
	binary.LittleEndian.PutUint64(buf[p:], w>>(8*lead))
	p += nd - scale - lead
	if frac == 0 {
		return p
	}
	buf[p] = '.'
	binary.LittleEndian.PutUint64(buf[p+1:], w>>(8*(nd-scale)))
	return p + 1 + frac
}

// dateCache holds the text of the last day a column rendered (timestamps
// mostly fall on the day of the one before) and, once the column has
// shown it moves between days a lot, of the last dateTableSize days by
// day number (dates cycle through a few thousand days): civil plus
// formatting, though cheap, cost more than the lookups. The text is kept
// as the words it is stored with (see dateWords).
type dateCache struct {
	days   int64
	ymd    uint64 // "YYYY-MM-"
	dd     uint16 // "DD"
	filled bool   // whether ymd and dd hold days
	misses int    // days formatted before table was allocated
	table  *[dateTableSize]dateEntry
}

// dateEntry is a slot of dateCache.table: key is the day + 719469 (the
// days civil handles are then positive; 0 is an empty slot).
type dateEntry struct {
	key uint32
	dd  uint16
	ymd uint64
}

const (
	// dateTableSize is the number of days dateCache.table holds (a
	// power of two; 64 KiB).
	dateTableSize = 4096
	// dateTableAfter is how many days a dateCache formats before it
	// allocates its table, which a batch that keeps to a few days (or
	// rows) does not need.
	dateTableAfter = 256
)

// date returns days since 1970-01-01 as YYYY-MM-DD in dateWords' words;
// ok is false outside the years civil handles.
func (m *dateCache) date(days int64) (ymd uint64, dd uint16, ok bool) {
	if m.filled && m.days == days {
		return m.ymd, m.dd, true
	}
	return m.fill(days)
}

// fill is date for a day other than the last.
func (m *dateCache) fill(days int64) (ymd uint64, dd uint16, ok bool) {
	if days < -719468 || days > 2932896 { // outside civil's range
		return 0, 0, false
	}
	key := uint32(days + 719469)
	var e *dateEntry
	if m.table != nil {
		e = &m.table[key%dateTableSize]
		if e.key == key {
			m.days, m.ymd, m.dd = days, e.ymd, e.dd
			return m.ymd, m.dd, true
		}
	} else if m.misses++; m.misses == dateTableAfter {
		m.table = new([dateTableSize]dateEntry)
		e = &m.table[key%dateTableSize]
	}
	y, mo, d, _ := civil(days)
	m.ymd, m.dd = dateWords(y, mo, d)
	m.days, m.filled = days, true
	if e != nil {
		*e = dateEntry{key: key, dd: m.dd, ymd: m.ymd}
	}
	return m.ymd, m.dd, true
}

// dateWords returns YYYY-MM-DD (y in 0..9999) as the little-endian words
// of its first 8 bytes and its last 2, built in registers: stored with
// two moves, where bytes written one at a time and then read back as a
// word would wait for the stores.
func dateWords(y, m, d uint32) (ymd uint64, dd uint16) {
	c := y / 100
	ymd = pair(c) | pair(y-c*100)<<16 | '-'<<32 | pair(m)<<40 | '-'<<56
	return ymd, uint16(pair(d))
}

// pair returns the two digits of v (< 100) as a little-endian word.
func pair(v uint32) uint64 {
	return uint64(digitPairs[2*v]) | uint64(digitPairs[2*v+1])<<8
}

// date32Width is the longest text of a Date32 ("-5877641-06-23").
const date32Width = 16

// date32Column renders dates as YYYY-MM-DD, through package time only
// outside years 0 to 9999.
func date32Column(vs []arrow.Date32, n nulls) column {
	var memo dateCache
	return column{width: date32Width, render: func(c *chunk, lo, hi int) {
		buf, end := c.buf, c.end[:hi-lo]
		n, vs, memo := n, vs, &memo // see intColumn
		for r, p := range end {
			i := lo + r
			if n.null(i) {
				p = putNull(buf, p)
			} else if ymd, dd, ok := memo.date(int64(vs[i])); ok {
				binary.LittleEndian.PutUint64(buf[p:], ymd)
				binary.LittleEndian.PutUint16(buf[p+8:], dd)
				p += 10
			} else {
				p = c.fits(p, vs[i].ToTime().UTC().AppendFormat(buf[p:p:p+date32Width], time.DateOnly), date32Width)
			}
			buf[p] = 0x1f
			end[r] = p + 1
		}
	}}
}

// timestampWidth is room for the longest RFC 3339 text of a timestamp:
// a 12-digit negative year for seconds (29 bytes), a 6-digit one with 9
// fraction digits for the finer units.
const timestampWidth = 40

// timestampColumn renders timestamps as RFC 3339 in UTC with nanoseconds
// (time.RFC3339Nano), through time.Time only outside years 0 to 9999.
func timestampColumn(vs []arrow.Timestamp, unit arrow.TimeUnit, n nulls) column {
	var memo dateCache
	return column{width: timestampWidth, render: func(c *chunk, lo, hi int) {
		buf, end := c.buf, c.end[:hi-lo]
		n, vs, unit, memo := n, vs, unit, &memo // see intColumn
		for r, p := range end {
			i := lo + r
			if n.null(i) {
				p = putNull(buf, p)
			} else if q, ok := putTimestamp(buf, p, int64(vs[i]), unit, memo); ok {
				p = q
			} else {
				p = c.fits(p, vs[i].ToTime(unit).UTC().AppendFormat(buf[p:p:p+timestampWidth], time.RFC3339Nano), timestampWidth)
			}
			buf[p] = 0x1f
			end[r] = p + 1
		}
	}}
}

// putTimestamp writes v (in unit) at buf[p:] as time.RFC3339Nano in UTC
// and returns the end; ok is false, with nothing written, outside years 0
// to 9999 and for units it does not know.
func putTimestamp(buf []byte, p int, v int64, unit arrow.TimeUnit, memo *dateCache) (int, bool) {
	var sec, nsec int64
	switch unit {
	case arrow.Second:
		sec = v
	case arrow.Millisecond:
		sec, nsec = floorDivMod(v, 1e3)
		nsec *= 1e6
	case arrow.Microsecond:
		sec, nsec = floorDivMod(v, 1e6)
		nsec *= 1e3
	case arrow.Nanosecond:
		sec, nsec = floorDivMod(v, 1e9)
	default:
		return p, false
	}
	days, secOfDay := floorDivMod(sec, 86400)
	ymd, dd, ok := memo.date(days)
	if !ok {
		return p, false
	}
	// "YYYY-MM-", "DDThh:mm", ":ssZ" (the Z moves on if there is a fraction).
	sod := uint32(secOfDay)
	hh, mm, ss := sod/3600, sod/60%60, sod%60
	binary.LittleEndian.PutUint64(buf[p:], ymd)
	binary.LittleEndian.PutUint64(buf[p+8:], uint64(dd)|'T'<<16|pair(hh)<<24|':'<<40|pair(mm)<<48)
	binary.LittleEndian.PutUint32(buf[p+16:], uint32(':'|pair(ss)<<8|'Z'<<24))
	p += 19
	if nsec != 0 {
		// '.', the 9 digits (8 in a word of eightDigits, then the last),
		// less their trailing zeros, counted from the word's leading
		// zero bytes when the last digit is '0' (the word then is not
		// all '0's, as nsec >= 10).
		q := uint64(nsec) / 10
		w := eightDigits(uint32(q))
		last := byte('0' + uint64(nsec) - q*10)
		buf[p] = '.'
		binary.LittleEndian.PutUint64(buf[p+1:], w)
		buf[p+9] = last
		if last != '0' {
			p += 10
		} else {
			p += 9 - bits.LeadingZeros64(w^0x30303030_30303030)/8
		}
	}
	buf[p] = 'Z'
	return p + 1, true
}

// genericColumn renders the types without a renderer of their own with
// AppendValue, into a side buffer whose lengths reserve tells the chunk.
func genericColumn(a arrow.Array) column {
	var text []byte
	ends := make([]int, chunkRows+1)
	return column{
		width: 0,
		reserve: func(lo, hi int, room []int) {
			text = text[:0]
			for r := range hi - lo {
				text = AppendValue(text, a, lo+r)
				ends[r+1] = len(text)
				room[r] += ends[r+1] - ends[r]
			}
		},
		render: func(c *chunk, lo, hi int) {
			buf, end := c.buf, c.end[:hi-lo]
			for r, p := range end {
				p += copy(buf[p:], text[ends[r]:ends[r+1]])
				buf[p] = 0x1f
				end[r] = p + 1
			}
		},
	}
}

// addChunk adds rows lo..hi-1 of the batch whose columns are cols (at
// least one) to s.
func (s *Sum) addChunk(c *chunk, rec arrow.RecordBatch, cols []column, lo, hi int) {
	n := hi - lo
	start, end := c.start[:n+1], c.end[:n]
	fixed := 0
	for j := range cols {
		fixed += cols[j].width + 1
	}
	for r := range end {
		end[r] = fixed
	}
	for j := range cols {
		if cols[j].reserve != nil {
			cols[j].reserve(lo, hi, end)
		}
	}
	at := 0
	for r, room := range end {
		start[r] = at
		end[r] = at
		at += room
	}
	start[n] = at
	if len(c.buf) < at {
		c.buf = make([]byte, at+at/4)
	}
	for j := range cols {
		cols[j].render(c, lo, hi)
	}
	if c.overflow {
		c.overflow = false
		var buf []byte
		for i := lo; i < hi; i++ {
			buf = buf[:0]
			for j, a := range rec.Columns() {
				if j > 0 {
					buf = append(buf, 0x1f)
				}
				buf = AppendValue(buf, a, i)
			}
			s.Hash += xxh3.Hash(buf)
		}
		return
	}
	buf := c.buf
	for r, e := range end {
		s.Hash += xxh3.Hash(buf[start[r] : e-1])
	}
}

// digitPairs holds "00" to "99", for writing two digits at a time.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// pow10u[i] is 10^i.
var pow10u = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// decimalLen returns the number of decimal digits of u (1 for 0):
// log10 estimated from the bit length (1233/4096 ≈ log10 2), then
// corrected by one comparison.
func decimalLen(u uint64) int {
	u |= 1
	t := bits.Len64(u) * 1233 >> 12
	if u < pow10u[t] {
		return t
	}
	return t + 1
}

// putDigits writes u as exactly n decimal digits (zero-padded on the
// left, u < 10^n) at buf[p:] and returns the end.
func putDigits(buf []byte, p int, u uint64, n int) int {
	putLow(buf[p:p+n], u)
	return p + n
}

// putLow fills b with the len(b) lowest decimal digits of u, zero-padded,
// and returns what is left of u (u / 10^len(b)). It splits off 8 digits,
// then 4, at a time, whose pairs of digits (from digitPairs) it works out
// independently of each other, rather than in one chain of divisions.
func putLow(b []byte, u uint64) uint64 {
	i := len(b)
	for i >= 8 {
		q := u / 1e8
		put8(b[i-8:i], uint32(u-q*1e8))
		u = q
		i -= 8
	}
	if i >= 4 {
		q := u / 1e4
		put4(b[i-4:i], uint32(u-q*1e4))
		u = q
		i -= 4
	}
	if i >= 2 {
		q := u / 100
		d := (u - q*100) * 2
		b[i-2], b[i-1] = digitPairs[d], digitPairs[d+1]
		u = q
		i -= 2
	}
	if i == 1 {
		q := u / 10
		b[0] = byte('0' + u - q*10)
		u = q
	}
	return u
}

// put8 writes v (< 10^8) as 8 digits to b[0:8].
func put8(b []byte, v uint32) {
	binary.LittleEndian.PutUint64(b, eightDigits(v))
}

// eightDigits returns v (< 10^8) as 8 ASCII digits, zero-padded, in a
// word whose bytes in memory (little-endian) read left to right. It
// splits v into 4-digit halves, 2-digit quarters and digits in the lanes
// of one register (SWAR): x/100 is x·10486 >> 20 for x < 10^4, x/10 is
// x·103 >> 10 for x < 100, and no lane's product reaches the next lane.
func eightDigits(v uint32) uint64 {
	hi := v / 1e4
	x := uint64(hi) | uint64(v-hi*1e4)<<32 // lanes: first 4 digits, last 4
	y := (x * 10486 >> 20) & 0x0000007f_0000007f
	x = (x-y*100)<<16 | y // 16-bit lanes of 2 digits
	y = (x * 103 >> 10) & 0x000f_000f_000f_000f
	x = (x-y*10)<<8 | y // bytes of 1 digit
	return x | 0x30303030_30303030
}

// fourDigits returns v (< 10^4) as 4 ASCII digits, zero-padded, in a
// word whose bytes in memory (little-endian) read left to right: two
// entries of digitPairs, a shorter chain than eightDigits'.
func fourDigits(v uint32) uint64 {
	c := v / 100
	return pair(c) | pair(v-c*100)<<16
}

// put4 writes v (< 10^4) as 4 digits to b[0:4].
func put4(b []byte, v uint32) {
	hi := v / 100
	lo := v - hi*100
	_ = b[3]
	b[0], b[1], b[2], b[3] = digitPairs[2*hi], digitPairs[2*hi+1], digitPairs[2*lo], digitPairs[2*lo+1]
}

// putUint writes u in decimal at buf[p:] (as strconv.AppendUint) and
// returns the end. Below 10^8 it stores fourDigits' or eightDigits' word,
// less its leading zeros, whole: it writes 8 bytes whatever the length, so buf
// must have 8 bytes at p (intColumn and uintColumn reserve them).
func putUint(buf []byte, p int, u uint64) int {
	n := decimalLen(u)
	if u < 1e4 {
		binary.LittleEndian.PutUint64(buf[p:], fourDigits(uint32(u))>>(8*(4-n)))
		return p + n
	}
	if u < 1e8 {
		binary.LittleEndian.PutUint64(buf[p:], eightDigits(uint32(u))>>(8*(8-n)))
		return p + n
	}
	return putDigits(buf, p, u, n)
}

// putInt writes v in decimal at buf[p:] (as strconv.AppendInt) and returns
// the end, writing up to 9 bytes however short the text (see putUint).
func putInt(buf []byte, p int, v int64) int {
	u := uint64(v)
	if v < 0 {
		buf[p] = '-'
		p++
		u = -u
	}
	return putUint(buf, p, u)
}
