package s3conn

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// chunky reads from r in reads of 1 to n bytes, chosen by rnd, so that
// chunk edges land anywhere (between "\r" and "\n", inside a multi-byte
// delimiter, next to quotes).
type chunky struct {
	r   io.Reader
	rnd *rand.Rand
	n   int
}

func (c *chunky) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), 1+c.rnd.IntN(c.n))])
}

// csvResult is what encoding/csv made of an input: each record with its
// fields' positions and the offset after it, then the error that ended it.
type csvResult struct {
	Records [][]string
	Pos     [][2]int
	Offsets []int64
	Err     string
}

func readCSVAll(r io.Reader, delim rune) csvResult {
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	var res csvResult
	for range 1000 {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Err = err.Error()
			break
		}
		res.Records = append(res.Records, rec)
		l, c := cr.FieldPos(len(rec) - 1)
		res.Pos = append(res.Pos, [2]int{l, c})
		res.Offsets = append(res.Offsets, cr.InputOffset())
	}
	return res
}

// TestCSVGuardIsTransparent reads random csv (quotes, doubled quotes,
// bare quotes, CRLF and lone CR, line breaks in quotes, empty lines and
// fields, a multi-byte delimiter) with encoding/csv, directly and through
// the guard in random chunks under the default cap: the same records,
// positions, offsets and errors.
func TestCSVGuardIsTransparent(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	for _, delim := range []rune{',', '§'} {
		d := string(delim)
		pieces := []string{"a", "bc", d, d, d, "\n", "\r\n", "\r", `"`, `""`, `"x` + d + "y\n" + `"`, "é", "\n\n", " "}
		for n := range 3000 {
			var sb strings.Builder
			for range rnd.IntN(40) {
				sb.WriteString(pieces[rnd.IntN(len(pieces))])
			}
			in := sb.String()
			direct := readCSVAll(strings.NewReader(in), delim)
			for _, chunk := range []int{7, 300} {
				guarded := readCSVAll(newCSVGuard(&chunky{strings.NewReader(in), rnd, chunk}, delim, recordsize.Default, 1), delim)
				if !reflect.DeepEqual(direct, guarded) {
					t.Fatalf("input %d %q (reads of up to %d bytes):\ndirect  %+v\nguarded %+v", n, in, chunk, direct, guarded)
				}
			}
		}
	}
}

// TestLastRecordEnd compares lastRecordEnd with a walk from the start on
// random quotes, line breaks and text.
func TestLastRecordEnd(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	for range 20000 {
		b := make([]byte, rnd.IntN(30))
		for i := range b {
			b[i] = "ab\"\n,"[rnd.IntN(5)]
		}
		want, quoted := -1, false
		for i, c := range b {
			switch {
			case c == '"':
				quoted = !quoted
			case c == '\n' && !quoted:
				want = i + 1
			}
		}
		if got := lastRecordEnd(b, quoted); got != want {
			t.Fatalf("lastRecordEnd(%q, %v) = %d, want %d", b, quoted, got, want)
		}
	}
}

// guardRead reads every record of in through the guard (cap max) and
// encoding/csv, in chunks of 1 to chunk bytes.
func guardRead(in string, max int64, chunk int, seed uint64) ([][]string, error) {
	g := newCSVGuard(&chunky{strings.NewReader(in), rand.New(rand.NewPCG(seed, 1)), chunk}, ',', max, 1)
	cr := csv.NewReader(g)
	cr.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

// TestCSVGuardBoundary: a record of exactly the cap (its final "\n" or
// "\r\n" not counted, or none at the end) is read, one byte more fails
// naming the record's first line, however the input is chunked.
func TestCSVGuardBoundary(t *testing.T) {
	const max = 16
	records := []string{
		"aaaaaaaaaaaaaaaa",
		"aaaaaaa,bbbbbbbb",
		`"aaaaaa""bbbbbb"`,
		"\"aaaaa\nbbbbbbbb\"",
		"aaaaaaaaaaaaaaa,",
		`"aaaaaaaaaaaaaa"`,
		"a,b,c,d,e,f,g,h,",
		`"","","","","",a`,
		"aaaaaaa\raaaaaaaa", // a '\r' that is data (not before "\n")
	}
	for _, rec := range records {
		if len(rec) != max {
			t.Fatalf("bad test record %q: %d bytes", rec, len(rec))
		}
		for _, end := range []string{"\n", "\r\n", ""} {
			for chunk := 1; chunk <= 40; chunk += 13 {
				in := "x\n\n" + rec + end + "y\n"
				if end == "" {
					in = "x\n\n" + rec
				}
				if got, err := guardRead(in, max, chunk, uint64(chunk)); err != nil || len(got) < 2 {
					t.Fatalf("%q (chunks of up to %d): %v, %q", in, chunk, err, got)
				}
				longers := []string{rec[:1] + "a" + rec[1:]}
				if rec[0] != '"' {
					longers = append(longers, "a"+rec)
				}
				for _, longer := range longers {
					in := "x\n\n" + longer + end + "y\n"
					_, err := guardRead(in, max, chunk, uint64(chunk))
					var tl *tooLargeError
					if !errors.As(err, &tl) || tl.line != 3 || tl.fields {
						t.Fatalf("%q (chunks of up to %d): %v, want a record over the cap at line 3", in, chunk, err)
					}
				}
			}
		}
	}
}

// endless is an io.Reader of n bytes of c (never held), counting the bytes
// read from it.
type endless struct {
	c    byte
	n    int64
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n-e.read)
	for i := range p[:k] {
		p[i] = e.c
	}
	e.read += k
	return int(k), nil
}

// counting counts the bytes read through it.
type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestCSVGuardStopsEarly reads a 64 MiB line (plain, and inside quotes)
// under a 1 MiB cap: the read fails naming line 3, having read about the
// cap from the object, and encoding/csv was given at most a quarter of the
// cap of the long record (so it never held the record three times over).
func TestCSVGuardStopsEarly(t *testing.T) {
	const max = 1 << 20
	for _, quoted := range []bool{false, true} {
		head := "id,name\n1,a\n2,"
		if quoted {
			head += `"`
		}
		line := &endless{c: 'x', n: 64 << 20}
		out := &counting{r: newCSVGuard(io.MultiReader(strings.NewReader(head), line), ',', max, 1)}
		cr := csv.NewReader(bufio.NewReaderSize(out, 256<<10))
		var err error
		for err == nil {
			_, err = cr.Read()
		}
		var tl *tooLargeError
		if !errors.As(err, &tl) || tl.line != 3 || tl.max != max {
			t.Fatalf("quoted %v: %v, want a record over the cap at line 3", quoted, err)
		}
		if line.read > max+2*guardChunk {
			t.Errorf("quoted %v: read %d bytes of the line, want at most the cap and two chunks (%d)", quoted, line.read, max+2*guardChunk)
		}
		if given := out.n - int64(len(head)); given > max/4+1 {
			t.Errorf("quoted %v: encoding/csv was given %d bytes of the long record, want at most %d", quoted, given, max/4)
		}
	}
}

// TestCSVGuardFields: more than recordsize.MaxFields fields fail; exactly
// MaxFields are read.
func TestCSVGuardFields(t *testing.T) {
	got, err := guardRead("a\n"+strings.Repeat(",", recordsize.MaxFields-1)+"\n", recordsize.Default, 1<<20, 1)
	if err != nil || len(got) != 2 || len(got[1]) != recordsize.MaxFields {
		t.Fatalf("%v", err)
	}
	_, err = guardRead("a\n"+strings.Repeat(",", recordsize.MaxFields)+"\n", recordsize.Default, 1<<20, 1)
	var tl *tooLargeError
	if !errors.As(err, &tl) || !tl.fields || tl.line != 2 {
		t.Fatalf("%v, want too many fields at line 2", err)
	}
}

// TestReadLine: jsonl lines up to the cap (without "\n" or "\r\n") are
// returned whole, also past the bufio buffer; a longer one fails naming
// its line having read about the cap.
func TestReadLine(t *testing.T) {
	const max = 64
	for _, size := range []int{16, 4096} { // below and above the cap
		for _, end := range []string{"\n", "\r\n", ""} {
			ok := strings.Repeat("a", max)
			in, want := "{}\n"+ok+end+"b\n", []string{"{}\n", ok + end, "b\n"}
			if end == "" {
				in, want = "{}\n"+ok, []string{"{}\n", ok}
			}
			br := bufio.NewReaderSize(strings.NewReader(in), size)
			var long []byte
			var lines []string
			for n := int64(1); ; n++ {
				l, buf, err := readLine(br, max, n, long)
				long = buf
				if err != nil && err != io.EOF {
					t.Fatalf("buffer %d, %q: line %d: %v", size, in, n, err)
				}
				if len(l) > 0 {
					lines = append(lines, string(l))
				}
				if err == io.EOF {
					break
				}
			}
			if !reflect.DeepEqual(lines, want) {
				t.Fatalf("buffer %d: lines %q", size, lines)
			}
			br = bufio.NewReaderSize(strings.NewReader("{}\n"+ok+"a"+end), size)
			readLine(br, max, 1, nil)
			_, _, err := readLine(br, max, 2, nil)
			var tl *tooLargeError
			if !errors.As(err, &tl) || tl.line != 2 {
				t.Fatalf("buffer %d, end %q: %v, want line 2 over the cap", size, end, err)
			}
		}
	}
	line := &endless{c: 'x', n: 64 << 20}
	br := bufio.NewReaderSize(line, 64<<10)
	_, buf, err := readLine(br, 1<<20, 7, nil)
	var tl *tooLargeError
	if !errors.As(err, &tl) || tl.line != 7 || line.read > 1<<20+2*(64<<10) || cap(buf) > 1<<20+64<<10 {
		t.Fatalf("%v; read %d bytes, buffer %d", err, line.read, cap(buf))
	}
}

// TestTooLargeMessage: the error names the object and line, the cap and
// how to raise it, and is PERMANENT.
func TestTooLargeMessage(t *testing.T) {
	cli := &client{bucket: "acme-raw"}
	err := textErr(context.Background(), fmt.Errorf("read: %w", &tooLargeError{line: 12, max: 1 << 20}), cli, "exports/orders.csv", "")
	want := `s3://acme-raw/exports/orders.csv, line 12: the record is larger than max_record_bytes (1 MiB); raise max_record_bytes (at most 1073741824, 1 GiB) if records this large are expected`
	if errclass.Of(err) != errclass.Permanent || err.Error() != want {
		t.Fatalf("%v (%v)\nwant %s", err, errclass.Of(err), want)
	}
	err = textErr(context.Background(), &tooLargeError{line: 3, fields: true}, cli, "x.csv", "")
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "s3://acme-raw/x.csv, line 3: the record has more than 1048576 fields") {
		t.Fatalf("%v", err)
	}
}

// BenchmarkCSVGuard reads 16 MiB of csv with encoding/csv as the source
// does (a 256 KiB bufio.Reader), directly and through the guard: the
// guard's cost on the normal path.
func BenchmarkCSVGuard(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("id,name,amount,day,note\n")
	for i := 0; sb.Len() < 16<<20; i++ {
		fmt.Fprintf(&sb, "%d,\"customer %d, inc\",%d.25,2024-05-0%d,some note text of moderate length\n", i, i%50000, i%1000, 1+i%9)
	}
	data := sb.String()
	for _, guarded := range []bool{false, true} {
		b.Run(fmt.Sprintf("guard=%v", guarded), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var r io.Reader = strings.NewReader(data)
				if guarded {
					r = newCSVGuard(r, ',', recordsize.Default, 1)
				}
				cr := csv.NewReader(bufio.NewReaderSize(r, 256<<10))
				cr.ReuseRecord = true
				for {
					if _, err := cr.Read(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
