package memconn

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The generator's vocabularies. Their sizes are powers of two so a value is
// picked with a mask; the docs list them.
var (
	firstNames = [32]string{
		"Ada", "Alan", "Alice", "Amara", "Ben", "Carlos", "Chen", "Dana",
		"Elena", "Emil", "Farah", "Grace", "Hana", "Ivan", "Jonas", "Kai",
		"Lena", "Liam", "Maya", "Mei", "Nadia", "Noah", "Omar", "Priya",
		"Quinn", "Rosa", "Sam", "Sofia", "Tariq", "Uma", "Victor", "Yuki",
	}
	lastNames = [32]string{
		"Adams", "Baker", "Brown", "Costa", "Diaz", "Dubois", "Eriksen", "Evans",
		"Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kim", "Lopez", "Martin",
		"Moreau", "Nguyen", "Novak", "Okafor", "Patel", "Quispe", "Rossi", "Silva",
		"Tanaka", "Ueda", "Varga", "Wagner", "Xu", "Yilmaz", "Zhang", "Zhou",
	}
	categories = [8]string{"books", "clothing", "electronics", "garden", "grocery", "home", "sports", "toys"}
	notes      = [16]string{
		"gift wrap", "leave at door", "fragile", "call on arrival",
		"express", "backorder", "customer pickup", "signature required",
		"weekend delivery", "discount applied", "repeat customer", "first order",
		"loyalty points", "bulk order", "priority", "price match",
	}
)

// createdAtBase is 2024-01-01T00:00:00Z in microseconds: row i's created_at
// lies in the second [base+i s, base+i+1 s).
var createdAtBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// GeneratorSchema is the fixed schema of generated rows. Every column but id
// is nullable in the schema; only note holds nulls.
var GeneratorSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "region_id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "category", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Field slots: row i's value for a column is drawn from
// mix64(rowKey(i) + (slot+1)·γ), so each column of each row is computable
// on its own.
const (
	slotQty = iota
	slotRegion
	slotPrice
	slotName
	slotCategory
	slotCreatedAt
	slotActive
	slotNote
)

// golden is SplitMix64's increment, 2^64/φ.
const golden = 0x9E3779B97F4A7C15

// mix64 is SplitMix64's output function (a bijective 64-bit finalizer).
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// generator produces rows 0..n-1 of a seeded data set. Row i depends only
// on (seed, i).
type generator struct {
	n       int64
	seed    int64
	seedKey uint64
	names   [len(firstNames) * len(lastNames)][]byte
	cats    [len(categories)][]byte
	notes   [len(notes)][]byte
}

func newGenerator(n, seed int64) *generator {
	g := &generator{n: n, seed: seed, seedKey: mix64(uint64(seed))}
	for i, f := range firstNames {
		for j, l := range lastNames {
			g.names[i*len(lastNames)+j] = []byte(f + " " + l)
		}
	}
	for i, c := range categories {
		g.cats[i] = []byte(c)
	}
	for i, s := range notes {
		g.notes[i] = []byte(s)
	}
	return g
}

// rowKey is the SplitMix64 output at step i of the stream seeded by seed.
func (g *generator) rowKey(i int64) uint64 { return mix64(g.seedKey + uint64(i)*golden) }

func draw(key uint64, slot int) uint64 { return mix64(key + uint64(slot+1)*golden) }

func (g *generator) schema() *arrow.Schema { return GeneratorSchema }
func (g *generator) numRows() int64        { return g.n }
func (g *generator) primaryKey() []string  { return []string{"id"} }
func (g *generator) cursorFields() []string {
	return []string{"id", "created_at"}
}

func avgLen(words []string) float64 {
	sum := 0
	for _, w := range words {
		sum += len(w)
	}
	return float64(sum) / float64(len(words))
}

// rowBytes: 8 (id) + 8 (qty) + 4 (region_id) + 8 (price) + 8 (created_at)
// + 1 (active, rounded up) + the three strings (mean length + a 4-byte
// offset each; note is null one row in ten) + 1 (note's validity, rounded up).
func (g *generator) rowBytes() int64 {
	name := avgLen(firstNames[:]) + 1 + avgLen(lastNames[:]) + 4
	cat := avgLen(categories[:]) + 4
	note := 0.9*avgLen(notes[:]) + 4
	return int64(8+8+4+8+8+1+name+cat+note+1) + 1
}

// Column values. Each is a pure function of (seed, i).

func (g *generator) qty(k uint64) int64     { return 1 + int64(draw(k, slotQty)%100) }
func (g *generator) region(k uint64) int32  { return 1 + int32(draw(k, slotRegion)%20) }
func (g *generator) price(k uint64) float64 { return float64(1+draw(k, slotPrice)%100000) / 100 }
func (g *generator) name(k uint64) []byte   { return g.names[draw(k, slotName)%uint64(len(g.names))] }
func (g *generator) category(k uint64) []byte {
	return g.cats[draw(k, slotCategory)%uint64(len(g.cats))]
}
func (g *generator) createdAt(i int64, k uint64) int64 {
	return createdAtBase + i*1_000_000 + int64(draw(k, slotCreatedAt)%1_000_000)
}
func (g *generator) active(k uint64) bool { return draw(k, slotActive)%10 < 7 }

// note returns nil for a null (one row in ten).
func (g *generator) note(k uint64) []byte {
	r := draw(k, slotNote)
	if r%10 == 0 {
		return nil
	}
	return g.notes[(r/10)%uint64(len(g.notes))]
}

// buildRange builds rows [lo, hi).
func (g *generator) buildRange(lo, hi int64) arrow.RecordBatch {
	p := g.newPage(int(hi - lo))
	for i := lo; i < hi; i++ {
		p.append(g, i)
	}
	return p.record()
}

// buildRows builds the given rows, in order.
func (g *generator) buildRows(rows []int64) arrow.RecordBatch {
	p := g.newPage(len(rows))
	for _, i := range rows {
		p.append(g, i)
	}
	return p.record()
}

// genPage holds one page's column buffers while it is generated. Rather
// than going through Arrow's builders (a bounds check, a validity bit and a
// length update per value), the generator writes the values straight into
// Go slices sized for the page and hands them to Arrow without copying:
// one allocation per buffer per page, none per row.
type genPage struct {
	n                          int // rows appended
	id, qty, created           []int64
	region                     []int32
	price                      []float64
	active                     []byte // bitmap
	nameOff, catOff, noteOff   []int32
	nameData, catData, noteDat []byte
	noteValid                  []byte // bitmap
	noteNulls                  int
}

func (g *generator) newPage(n int) *genPage {
	bitmap := (n + 7) / 8
	return &genPage{
		id:        make([]int64, n),
		qty:       make([]int64, n),
		created:   make([]int64, n),
		region:    make([]int32, n),
		price:     make([]float64, n),
		active:    make([]byte, bitmap),
		nameOff:   make([]int32, n+1),
		catOff:    make([]int32, n+1),
		noteOff:   make([]int32, n+1),
		nameData:  make([]byte, 0, n*(maxLen(firstNames[:])+1+maxLen(lastNames[:]))),
		catData:   make([]byte, 0, n*maxLen(categories[:])),
		noteDat:   make([]byte, 0, n*maxLen(notes[:])),
		noteValid: make([]byte, bitmap),
	}
}

func maxLen(words []string) int {
	m := 0
	for _, w := range words {
		m = max(m, len(w))
	}
	return m
}

// append adds row i of g as the page's next row.
func (p *genPage) append(g *generator, i int64) {
	j := p.n
	p.n++
	k := g.rowKey(i)
	p.id[j] = i + 1
	p.qty[j] = g.qty(k)
	p.region[j] = g.region(k)
	p.price[j] = g.price(k)
	p.nameData = append(p.nameData, g.name(k)...)
	p.nameOff[j+1] = int32(len(p.nameData))
	p.catData = append(p.catData, g.category(k)...)
	p.catOff[j+1] = int32(len(p.catData))
	p.created[j] = g.createdAt(i, k)
	if g.active(k) {
		p.active[j>>3] |= 1 << (j & 7)
	}
	if v := g.note(k); v != nil {
		p.noteDat = append(p.noteDat, v...)
		p.noteValid[j>>3] |= 1 << (j & 7)
	} else {
		p.noteNulls++
	}
	p.noteOff[j+1] = int32(len(p.noteDat))
}

// record wraps the page's buffers as an Arrow record batch.
func (p *genPage) record() arrow.RecordBatch {
	n := p.n
	buf := memory.NewBufferBytes
	fixed := func(t arrow.DataType, b []byte) arrow.Array {
		d := array.NewData(t, n, []*memory.Buffer{nil, buf(b)}, nil, 0, 0)
		defer d.Release()
		return array.MakeFromData(d)
	}
	str := func(valid []byte, nulls int, off []int32, data []byte) arrow.Array {
		var v *memory.Buffer
		if nulls > 0 {
			v = buf(valid)
		}
		d := array.NewData(arrow.BinaryTypes.String, n,
			[]*memory.Buffer{v, buf(arrow.Int32Traits.CastToBytes(off[:n+1])), buf(data)}, nil, nulls, 0)
		defer d.Release()
		return array.MakeFromData(d)
	}
	f := GeneratorSchema.Fields()
	cols := []arrow.Array{
		fixed(f[0].Type, arrow.Int64Traits.CastToBytes(p.id[:n])),
		fixed(f[1].Type, arrow.Int64Traits.CastToBytes(p.qty[:n])),
		fixed(f[2].Type, arrow.Int32Traits.CastToBytes(p.region[:n])),
		fixed(f[3].Type, arrow.Float64Traits.CastToBytes(p.price[:n])),
		str(nil, 0, p.nameOff, p.nameData),
		str(nil, 0, p.catOff, p.catData),
		fixed(f[6].Type, arrow.Int64Traits.CastToBytes(p.created[:n])),
		fixed(f[7].Type, p.active),
		str(p.noteValid, p.noteNulls, p.noteOff, p.noteDat),
	}
	rec := array.NewRecordBatch(GeneratorSchema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func (g *generator) cursor(name string) (*cursorColumn, error) {
	c := &cursorColumn{name: name}
	switch name {
	case "id":
		c.kind, c.monotonic = kindInt, true
		c.at = func(i int64) (cval, bool) { return cval{i: i + 1}, true }
	case "qty":
		c.kind = kindInt
		c.at = func(i int64) (cval, bool) { return cval{i: g.qty(g.rowKey(i))}, true }
	case "region_id":
		c.kind = kindInt
		c.at = func(i int64) (cval, bool) { return cval{i: int64(g.region(g.rowKey(i)))}, true }
	case "price":
		c.kind = kindFloat
		c.at = func(i int64) (cval, bool) { return cval{f: g.price(g.rowKey(i))}, true }
	case "name":
		c.kind = kindString
		c.at = func(i int64) (cval, bool) { return cval{s: string(g.name(g.rowKey(i)))}, true }
	case "category":
		c.kind = kindString
		c.at = func(i int64) (cval, bool) { return cval{s: string(g.category(g.rowKey(i)))}, true }
	case "created_at":
		c.kind, c.monotonic = kindTime, true
		c.at = func(i int64) (cval, bool) { return cval{i: g.createdAt(i, g.rowKey(i))}, true }
	case "note":
		c.kind = kindString
		c.at = func(i int64) (cval, bool) {
			v := g.note(g.rowKey(i))
			return cval{s: string(v)}, v != nil
		}
	case "active":
		return nil, fmt.Errorf("column %q is a bool and cannot be an incremental cursor", name)
	default:
		return nil, fmt.Errorf("no column %q; the generated columns are id, qty, region_id, price, name, category, created_at, active, note", name)
	}
	return c, nil
}
