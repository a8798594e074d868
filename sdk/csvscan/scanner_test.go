package csvscan

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// result is one Next call as tests compare it.
type result struct {
	Fields       []string
	Quoted       []bool
	Line         int64
	Err          string
	Offset, Next int64
}

// scanAll reads every record of in (at most 500) through a buffer of
// size bytes.
func scanAll(in []byte, opts Options, size int) []result {
	s := NewBuffered(bufio.NewReaderSize(bytes.NewReader(in), size), opts, 0, 1)
	var out []result
	for range 500 {
		rec, err := s.Next()
		x := result{Line: rec.Line, Offset: s.Offset(), Next: s.Line()}
		if err != nil {
			x.Err = err.Error()
		} else {
			for _, f := range rec.Fields {
				x.Fields = append(x.Fields, string(f))
			}
			x.Quoted = append([]bool{}, rec.Quoted...)
		}
		out = append(out, x)
		if err != nil {
			break
		}
	}
	return out
}

// reference splits in as the format says, one byte at a time over the
// whole input, without a cap: what Next must return.
func reference(in []byte, delim, quote byte, enc Encoding) []result {
	pos, line := 0, int64(1)
	next := func() (byte, bool) {
		if pos == len(in) {
			return 0, false
		}
		b := in[pos]
		pos++
		if b == '\n' {
			line++
		}
		return b, true
	}
	peek := func(k int) (byte, bool) {
		if pos+k >= len(in) {
			return 0, false
		}
		return in[pos+k], true
	}
	var out []result
	for range 500 {
		for {
			if b, ok := peek(0); ok && b == '\n' {
				next()
				continue
			}
			if b, ok := peek(0); ok && b == '\r' {
				if b2, ok := peek(1); ok && b2 == '\n' {
					next()
					next()
					continue
				}
			}
			break
		}
		start := line
		if pos == len(in) {
			return append(out, result{Line: line, Err: io.EOF.Error(), Offset: int64(pos), Next: line})
		}
		var fields []string
		var quoted []bool
		fail := func(at int64, msg string) []result {
			return append(out, result{Line: start, Err: (&SyntaxError{at, msg}).Error(), Offset: int64(pos), Next: line})
		}
		for {
			var f []byte
			b, ok := next()
			isQuoted := ok && b == quote
			if isQuoted {
				for {
					b, ok = next()
					if !ok {
						return fail(start, "quoted field is not closed before the end of the file")
					}
					if b == quote {
						if c, ok := peek(0); ok && c == quote {
							next()
							f = append(f, quote)
							continue
						}
						break
					}
					f = append(f, b)
				}
				b, ok = next()
			} else {
				for ok && b != delim && b != '\n' {
					if b == '\r' {
						if c, cok := peek(0); cok && c == '\n' {
							b, ok = next()
							break
						}
					}
					f = append(f, b)
					b, ok = next()
				}
			}
			fields = append(fields, string(f))
			quoted = append(quoted, isQuoted)
			if !ok || (!isQuoted && b == '\n') {
				break
			}
			if b == delim {
				continue
			}
			if b == '\r' {
				if c, cok := peek(0); cok && c == '\n' {
					next()
					break
				}
			}
			if b == '\n' {
				break
			}
			return fail(line, fmt.Sprintf("unexpected %q after a closing quote in field %d", b, len(fields)))
		}
		switch enc {
		case UTF8:
			for i, f := range fields {
				if !utf8.ValidString(f) {
					return append(out, result{Line: start, Err: (&UTF8Error{start, i + 1}).Error(), Offset: int64(pos), Next: line})
				}
			}
		case Latin1:
			for i, f := range fields {
				r := make([]rune, len(f))
				for j := range len(f) {
					r[j] = rune(f[j])
				}
				fields[i] = string(r)
			}
		}
		out = append(out, result{Fields: fields, Quoted: quoted, Line: start, Offset: int64(pos), Next: line})
	}
	return out
}

// hostilePieces make up random input: quotes, doubled and lone; CR, LF
// and CRLF; delimiters; multi-byte UTF-8, cut characters and bytes that
// are not UTF-8; empty lines.
var hostilePieces = []string{"a", "bc", "12.5", ",", ",", ";", "\t", "|", "\n", "\r\n", "\r", "\"", "\"\"", "'", "é", "日本",
	"\xc3", "\xa9", "\xff", "x y", "\n\n", "", "\"a\nb\"", "\"\",\"", "\"a,b\"", "\"\r\n\""}

func randomInput(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for range r.IntN(n) {
		b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
	}
	return b.Bytes()
}

// TestScannerMatchesReference reads random hostile input with the
// in-buffer path and the byte loop, through buffers from 16 bytes (buffer
// edges everywhere) to BufferSize, with several delimiters, quote
// characters and encodings: the same records, errors, offsets and lines as
// the reference, byte for byte.
func TestScannerMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 6000 {
		in := randomInput(r, 150)
		opts := Options{Delimiter: ",;\t|"[r.IntN(4)], Quote: "\"'"[r.IntN(2)], Encoding: Encoding(r.IntN(3))}
		want := reference(in, opts.Delimiter, opts.Quote, opts.Encoding)
		size := []int{16, 17, 31, 64, 100, 4096, BufferSize}[r.IntN(7)]
		for _, loop := range []bool{false, true} {
			opts.ByteLoopOnly = loop
			if got := scanAll(in, opts, size); !reflect.DeepEqual(got, want) {
				t.Fatalf("input %d %q (%+v, buffer %d):\ngot  %+v\nwant %+v", n, in, opts, size, got, want)
			}
		}
	}
}

// TestScannerPathsAgreeUnderCaps reads random hostile input under record
// caps from 1 byte up and field-heavy records: the in-buffer path and the
// byte loop give the same records and the same errors (over the cap,
// naming the record's first line) at the same offsets.
func TestScannerPathsAgreeUnderCaps(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for n := range 6000 {
		in := randomInput(r, 80)
		opts := Options{Delimiter: ',', Quote: '"', Encoding: Encoding(r.IntN(3)), MaxRecord: []int64{1, 2, 3, 5, 8, 13, 21}[r.IntN(7)]}
		size := []int{16, 40, 4096}[r.IntN(3)]
		// Where the input stands after a record over the cap depends on
		// how much was buffered when the cap was passed: the read has
		// failed, so only the error is compared there.
		errorAt := func(rs []result) []result {
			if last := &rs[len(rs)-1]; last.Err != io.EOF.Error() {
				last.Offset, last.Next = 0, 0
			}
			return rs
		}
		fast := errorAt(scanAll(in, opts, size))
		opts.ByteLoopOnly = true
		if slow := errorAt(scanAll(in, opts, size)); !reflect.DeepEqual(fast, slow) {
			t.Fatalf("input %d %q (%+v, buffer %d):\nfast %+v\nslow %+v", n, in, opts, size, fast, slow)
		}
	}
}

// TestScannerMatchesEncodingCSV writes random records (quotes, delimiters,
// line breaks, multi-byte characters in fields) with encoding/csv and
// reads them back: the fields written, on the lines encoding/csv says.
func TestScannerMatchesEncodingCSV(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"a", "bc", "1", ",", "\"", "\n", "é", "日本", " ", "x\"y", ";"}
	for n := range 2000 {
		var records [][]string
		ncols := 1 + r.IntN(5)
		for range r.IntN(20) {
			rec := make([]string, ncols)
			for i := range rec {
				var sb strings.Builder
				for range r.IntN(5) {
					sb.WriteString(pieces[r.IntN(len(pieces))])
				}
				rec[i] = sb.String()
			}
			if ncols == 1 && rec[0] == "" {
				rec[0] = "x" // encoding/csv writes an empty line for it
			}
			records = append(records, rec)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.WriteAll(records)
		in := buf.Bytes()
		cr := csv.NewReader(bytes.NewReader(in))
		s := NewBuffered(bufio.NewReaderSize(bytes.NewReader(in), 16+r.IntN(64)), Options{Delimiter: ',', Quote: '"', Encoding: UTF8}, 0, 1)
		for i := 0; ; i++ {
			want, werr := cr.Read()
			rec, err := s.Next()
			if werr == io.EOF || err == io.EOF {
				if werr != err {
					t.Fatalf("input %d %q, record %d: encoding/csv %v, csvscan %v", n, in, i, werr, err)
				}
				break
			}
			if werr != nil || err != nil {
				t.Fatalf("input %d %q, record %d: encoding/csv %v, csvscan %v", n, in, i, werr, err)
			}
			if got := rec.Strings(); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(want, records[i]) {
				t.Fatalf("input %d %q, record %d: csvscan %q, encoding/csv %q, written %q", n, in, i, got, want, records[i])
			}
			if line, _ := cr.FieldPos(0); int64(line) != rec.Line {
				t.Fatalf("input %d %q, record %d: line %d, encoding/csv says %d", n, in, i, rec.Line, line)
			}
			if s.Offset() != cr.InputOffset() {
				t.Fatalf("input %d %q, record %d: offset %d, encoding/csv says %d", n, in, i, s.Offset(), cr.InputOffset())
			}
		}
	}
}

// endless is an input of n bytes c, counting what was read.
type endless struct {
	c       byte
	n, read int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n-e.read)
	for i := range k {
		p[i] = e.c
	}
	e.read += k
	return int(k), nil
}

// TestHugeFieldFailsAtTheCap reads one 64 MiB field under a 1 MiB cap,
// plain and quoted: the scanner fails naming the record's line, having
// read about the cap and holding no more than the cap.
func TestHugeFieldFailsAtTheCap(t *testing.T) {
	const max = 1 << 20
	for _, quoted := range []bool{false, true} {
		field := &endless{c: 'x', n: 64 << 20}
		head := "id,name\n1,a\n2,"
		if quoted {
			head += "\""
		}
		s := New(io.MultiReader(strings.NewReader(head), field), Options{Delimiter: ',', Quote: '"', MaxRecord: max, Encoding: UTF8}, 0, 1)
		var err error
		for err == nil {
			_, err = s.Next()
		}
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Line != 3 || tl.Max != max || tl.Fields {
			t.Fatalf("quoted %v: %v, want a record over the cap at line 3", quoted, err)
		}
		if field.read > max+2*BufferSize {
			t.Errorf("quoted %v: read %d bytes of the field, want at most the cap and a buffer", quoted, field.read)
		}
		if s.BufferCap() > max {
			t.Errorf("quoted %v: the record buffer grew to %d bytes, past the cap", quoted, s.BufferCap())
		}
	}
}

// TestTooManyFields: a record of recordsize.MaxFields fields is read, one
// more fails naming its line.
func TestTooManyFields(t *testing.T) {
	for _, extra := range []int{0, 1} {
		in := "a\n" + strings.Repeat(",", recordsize.MaxFields-1+extra) + "\n"
		s := New(strings.NewReader(in), Options{Delimiter: ',', Quote: '"'}, 0, 1)
		s.Next()
		rec, err := s.Next()
		var tl *TooLargeError
		if extra == 0 && (err != nil || len(rec.Fields) != recordsize.MaxFields) {
			t.Fatalf("%d fields: %v", len(rec.Fields), err)
		}
		if extra == 1 && (!errors.As(err, &tl) || !tl.Fields || tl.Line != 2) {
			t.Fatalf("%v, want too many fields at line 2", err)
		}
	}
}

// TestResumeAtOffset: a scanner started at a record's offset and line
// (after a seek) reads what a scanner from the start reads from there.
func TestResumeAtOffset(t *testing.T) {
	in := []byte("\xef\xbb\xbfid,note\r\n1,\"a\nb\"\n\n2,\"x\"\"y\"\r\n3,plain\n")
	s := New(bytes.NewReader(in), Options{Delimiter: ',', Quote: '"', Encoding: UTF8}, 0, 1)
	s.SkipBOM()
	var all []result
	var marks [][2]int64
	for {
		marks = append(marks, [2]int64{s.Offset(), s.Line()})
		rec, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, result{Fields: rec.Strings(), Line: rec.Line})
	}
	for i, m := range marks[:len(all)] {
		r := New(bytes.NewReader(in[m[0]:]), Options{Delimiter: ',', Quote: '"', Encoding: UTF8}, m[0], m[1])
		for j := i; j < len(all); j++ {
			rec, err := r.Next()
			if err != nil || !reflect.DeepEqual(result{Fields: rec.Strings(), Line: rec.Line}, all[j]) {
				t.Fatalf("from record %d: record %d is %q line %d (%v), want %+v", i, j, rec.Strings(), rec.Line, err, all[j])
			}
		}
		if !r.AtEOF() || r.Offset() != int64(len(in)) {
			t.Fatalf("from record %d: ends at %d, want %d", i, r.Offset(), len(in))
		}
	}
}

// FuzzScanner: on any input, delimiter and quote character, the in-buffer
// path, the byte loop and the reference agree.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\"a\"\"b\",c\r\nd", "\"x\ny\",\xff\n", "é,\"\r\"\n\n", "\",\"\"\n", "a\rb,c\r\n"} {
		f.Add([]byte(s), byte(','), byte('"'), uint8(1), uint8(16))
	}
	f.Fuzz(func(t *testing.T, in []byte, delim, quote byte, enc uint8, size uint8) {
		if delim == quote || delim == '\n' || delim == '\r' || quote == '\n' || quote == '\r' || delim >= 0x80 || quote >= 0x80 {
			return
		}
		opts := Options{Delimiter: delim, Quote: quote, Encoding: Encoding(enc % 3)}
		want := reference(in, delim, quote, opts.Encoding)
		for _, loop := range []bool{false, true} {
			opts.ByteLoopOnly = loop
			if got := scanAll(in, opts, 16+int(size)); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q (%+v):\ngot  %+v\nwant %+v", in, opts, got, want)
			}
		}
	})
}
