package csvconn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// TestFastRecordMatchesByteLoop reads random CSV (quotes, doubled quotes,
// CRLF and lone CR, empty fields and lines, multi-byte characters, bytes
// that are not UTF-8, a last line without a newline) with and without the
// fast path, under record caps from 1 byte to the default: the same
// records, errors, offsets and line numbers.
func TestFastRecordMatchesByteLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "bc", "12.5", ",", ",", ",", "\n", "\r\n", "\r", "\"", "\"\"", "é", "\xc3", "\xa9", "x y", ";", "\n\n", ""}
	for _, latin1 := range []bool{false, true} {
		for n := range 3000 {
			var sb strings.Builder
			for range r.IntN(60) {
				sb.WriteString(pieces[r.IntN(len(pieces))])
			}
			in := sb.String()
			cfg := config{Delimiter: ',', Quote: '"', Latin1: latin1}
			maxRecord := []int64{1, 2, 3, 5, 8, 13, 0}[r.IntN(7)]
			type rec struct {
				Fields       []string
				Quoted       []bool
				Line         int64
				Err          string
				Offset, Next int64
			}
			run := func(slow bool) []rec {
				p := newRecordReader(strings.NewReader(in), cfg, 0, 1)
				p.slowOnly = slow
				if maxRecord > 0 {
					p.maxRecord = maxRecord
				}
				var out []rec
				for range 100 {
					f, q, line, err := p.read()
					x := rec{Fields: f, Quoted: append([]bool(nil), q...), Line: line, Offset: p.offset, Next: p.line}
					if err != nil {
						x.Err = err.Error()
						x.Fields, x.Quoted = nil, nil
					}
					out = append(out, x)
					if err != nil {
						if !errors.Is(err, io.EOF) && x.Err == "" {
							t.Fatal("unreachable")
						}
						break
					}
				}
				return out
			}
			fast, slow := run(false), run(true)
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("input %d %q (latin1 %v, max record %d):\nfast %+v\nslow %+v", n, in, latin1, maxRecord, fast, slow)
			}
		}
	}
}

// readRecords reads every record of in with the byte loop only (slow) or
// the fast path where it applies, under the record cap max, and returns
// the fields of each record, then the error that ended the read (nil at
// the end of input).
func readRecords(in string, max int64, slow bool) ([][]string, error) {
	p := newRecordReader(strings.NewReader(in), config{Delimiter: ',', Quote: '"'}, 0, 1)
	p.maxRecord, p.slowOnly = max, slow
	var out [][]string
	for {
		f, _, _, err := p.read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append([]string(nil), f...))
	}
}

// TestRecordCapBoundary: a record of exactly the cap's bytes (its final
// line break not counted: "\n", "\r\n" or none at the end of input) is
// read, one more byte fails naming the record's first line, on both
// paths, whatever makes up the bytes (quotes, delimiters, line breaks
// inside quotes).
func TestRecordCapBoundary(t *testing.T) {
	const max = 16
	records := []string{
		"aaaaaaaaaaaaaaaa",    // 16 bytes, one field
		"aaaaaaa,bbbbbbbb",    // a delimiter
		`"aaaaaa""bbbbbb"`,    // quoted, a doubled quote
		"\"aaaaa\nbbbbbbbb\"", // a line break inside quotes
		"aaaaaaaaaaaaaaa,",    // a last empty field
		`"aaaaaaaaaaaaaa"`,    // the closing quote is the 16th byte
		"a,b,c,d,e,f,g,h,",    // many fields
		`"","","","","",a`,    // empty quoted fields
	}
	for _, rec := range records {
		if len(rec) != max {
			t.Fatalf("bad test record %q: %d bytes", rec, len(rec))
		}
		for _, end := range []string{"\n", "\r\n", ""} {
			for _, slow := range []bool{false, true} {
				in := "x\n\n" + rec + end + "y\n"
				if end == "" {
					in = "x\n\n" + rec
				}
				got, err := readRecords(in, max, slow)
				if err != nil || len(got) < 2 {
					t.Fatalf("%q (slow %v): %v, %q", in, slow, err, got)
				}
				// One byte more, where it keeps the record's shape: not
				// before an opening or after a closing quote.
				longers := []string{rec[:1] + "a" + rec[1:]}
				if rec[0] != '"' {
					longers = append(longers, "a"+rec)
				}
				if rec[len(rec)-1] != '"' {
					longers = append(longers, rec+"a")
				}
				for _, longer := range longers {
					in := "x\n\n" + longer + end + "y\n"
					_, err := readRecords(in, max, slow)
					var tl *tooLargeError
					if !errors.As(err, &tl) || tl.line != 3 || tl.fields {
						t.Fatalf("%q (slow %v): %v, want a record over the cap at line 3", in, slow, err)
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

// TestRecordCapStopsEarly reads one 64 MiB line under a 1 MiB cap, plain
// and inside quotes: the reader fails having read about the cap from its
// input, not the whole line, with a buffer of at most the cap.
func TestRecordCapStopsEarly(t *testing.T) {
	const max = 1 << 20
	for _, quoted := range []bool{false, true} {
		line := &endless{c: 'x', n: 64 << 20}
		var in io.Reader = io.MultiReader(strings.NewReader("id,name\n1,a\n"), line)
		if quoted {
			in = io.MultiReader(strings.NewReader("id,name\n1,a\n2,\""), line)
		}
		p := newRecordReader(in, config{Delimiter: ',', Quote: '"', MaxRecordBytes: max}, 0, 1)
		var err error
		for err == nil {
			_, _, _, err = p.read()
		}
		var tl *tooLargeError
		if !errors.As(err, &tl) || tl.line != 3 || tl.max != max {
			t.Fatalf("quoted %v: %v, want a record over the cap at line 3", quoted, err)
		}
		if line.read > max+2*readerBufferSize {
			t.Errorf("quoted %v: read %d bytes of the line, want at most the cap and a buffer (%d)", quoted, line.read, max+2*readerBufferSize)
		}
		if cap(p.buf) > max {
			t.Errorf("quoted %v: the record buffer grew to %d bytes, past the cap", quoted, cap(p.buf))
		}
	}
}

// TestRecordFieldCap: a record of more than recordsize.MaxFields fields
// fails (a line of delimiters costs far more memory than its bytes); one
// of exactly MaxFields fields is read.
func TestRecordFieldCap(t *testing.T) {
	got, err := readRecords("a\n"+strings.Repeat(",", recordsize.MaxFields-1)+"\n", recordsize.Default, false)
	if err != nil || len(got) != 2 || len(got[1]) != recordsize.MaxFields {
		t.Fatalf("%d fields: %v", len(got[len(got)-1]), err)
	}
	_, err = readRecords("a\n"+strings.Repeat(",", recordsize.MaxFields)+"\n", recordsize.Default, false)
	var tl *tooLargeError
	if !errors.As(err, &tl) || !tl.fields || tl.line != 2 {
		t.Fatalf("%v, want too many fields at line 2", err)
	}
}

// TestReadMatchesReference reads random CSV (the pieces of
// TestFastRecordMatchesByteLoop, longer records, both delimiters) with
// read, through the byte loop and with the fast path, under the default
// cap, and with the reader before the cap: the same records, errors,
// offsets and line numbers. Small buffers put buffer edges everywhere.
func TestReadMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"a", "bc", "12.5", ",", ";", "\t", "\n", "\r\n", "\r", "\"", "\"\"", "é", "\xc3", "x y", "\n\n", "", "\"a\nb\"", "\"\",\""}
	for n := range 4000 {
		var sb strings.Builder
		for range r.IntN(120) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		in := sb.String()
		cfg := config{Delimiter: []byte{',', ';', '\t'}[r.IntN(3)], Quote: '"', Latin1: r.IntN(4) == 0}
		size := 16 + r.IntN(64)
		type rec struct {
			Fields       []string
			Quoted       []bool
			Line         int64
			Err          string
			Offset, Next int64
		}
		run := func(read func(p *recordReader) ([]string, []bool, int64, error), slow bool) []rec {
			p := newRecordReader(strings.NewReader(in), cfg, 0, 1)
			p.r = bufio.NewReaderSize(strings.NewReader(in), size)
			p.slowOnly = slow
			var out []rec
			for range 200 {
				f, q, line, err := read(p)
				x := rec{Fields: f, Quoted: append([]bool(nil), q...), Line: line, Offset: p.offset, Next: p.line}
				if err != nil {
					x.Err = err.Error()
					x.Fields, x.Quoted = nil, nil
				}
				out = append(out, x)
				if err != nil {
					break
				}
			}
			return out
		}
		want := run((*recordReader).readReference, true)
		for _, slow := range []bool{true, false} {
			if got := run((*recordReader).read, slow); !reflect.DeepEqual(got, want) {
				t.Fatalf("input %d %q (delimiter %q, buffer %d, slow %v):\ngot  %+v\nwant %+v", n, in, cfg.Delimiter, size, slow, got, want)
			}
		}
	}
}

// readReference is the byte loop as it was before records were capped
// (read with slowOnly, without the cap), kept to check that read splits
// records exactly as it did.
func (p *recordReader) readReference() (fields []string, quoted []bool, line int64, err error) {
	// Skip empty lines.
	for {
		b, err := p.r.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil, p.line, io.EOF
			}
			return nil, nil, p.line, err
		}
		if b[0] == '\n' {
			p.readByte()
			continue
		}
		if b[0] == '\r' {
			if b2, err := p.r.Peek(2); err == nil && b2[1] == '\n' {
				p.readByte()
				p.readByte()
				continue
			}
		}
		break
	}
	line = p.line
	p.buf, p.ends, p.quoted = p.buf[:0], p.ends[:0], p.quoted[:0]
	for {
		// One field.
		b, err := p.readByte()
		isQuoted := err == nil && b == p.quote
		if isQuoted {
			for {
				b, err = p.readByte()
				if err != nil {
					if errors.Is(err, io.EOF) {
						return nil, nil, line, &syntaxError{line, "quoted field is not closed before the end of the file"}
					}
					return nil, nil, line, err
				}
				if b == p.quote {
					if next, perr := p.r.Peek(1); perr == nil && next[0] == p.quote {
						p.readByte()
						p.buf = append(p.buf, p.quote)
						continue
					}
					break
				}
				p.buf = append(p.buf, b)
			}
			b, err = p.readByte()
		} else {
			for err == nil && b != p.delim && b != '\n' {
				if b == '\r' {
					if next, perr := p.r.Peek(1); perr == nil && next[0] == '\n' {
						b, err = p.readByte()
						break
					}
				}
				p.buf = append(p.buf, b)
				b, err = p.readByte()
			}
		}
		p.ends = append(p.ends, len(p.buf))
		p.quoted = append(p.quoted, isQuoted)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, line, err
		}
		if b == p.delim {
			continue
		}
		if b == '\r' && isQuoted {
			if next, perr := p.r.Peek(1); perr == nil && next[0] == '\n' {
				p.readByte()
				break
			}
		}
		if b == '\n' {
			break
		}
		return nil, nil, line, &syntaxError{p.line, fmt.Sprintf("unexpected %q after a closing quote in field %d", b, len(p.ends))}
	}
	return p.fields(line)
}
