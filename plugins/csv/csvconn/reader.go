package csvconn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sqlflow/sqlflow-host/sdk/csvscan"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// recordReader reads the records of a csv file as strings, for what
// needs them as strings (the header, the rows sampled to infer types):
// sdk/csvscan splits them (RFC 4180 with the configured delimiter and
// quote character, see its doc), and fields turns them into UTF-8
// strings, one allocation per record. ReadPage scans with csvscan
// directly and parses fields where they lie, without strings.
//
// It keeps the byte offset and the line number of its position, so a
// read can stop after any record and resume there later by seeking. A
// record longer than maxRecord bytes (its final line break not counted)
// or of more than recordsize.MaxFields fields is an error, found while the
// record is read.
type recordReader struct {
	r      *bufio.Reader
	delim  byte
	quote  byte
	latin1 bool
	// offset is the byte offset of the next unread byte; line is its
	// 1-based line number.
	offset int64
	line   int64
	// maxRecord caps a record's bytes (max_record_bytes).
	maxRecord int64

	buf    []byte
	ends   []int
	quoted []bool
	// slowOnly turns csvscan's in-buffer path off (tests compare both
	// paths).
	slowOnly bool

	// sc scans r; made at the first read, from the fields above (which
	// tests set after newRecordReader).
	sc *csvscan.Scanner
}

// syntaxError is malformed CSV at a line.
type syntaxError struct {
	line int64
	msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// tooLargeError is a record over the cap (max bytes), or of too many
// fields, starting at a line.
type tooLargeError struct {
	line   int64
	max    int64
	fields bool
}

func (e *tooLargeError) Error() string {
	if e.fields {
		return fmt.Sprintf("line %d: more than %d fields", e.line, recordsize.MaxFields)
	}
	return fmt.Sprintf("line %d: a record larger than %d bytes", e.line, e.max)
}

// readerBufferSize is the read buffer: records that fit in it are split
// where they lie.
const readerBufferSize = csvscan.BufferSize

func newRecordReader(r io.Reader, cfg config, offset, line int64) *recordReader {
	max := cfg.MaxRecordBytes
	if max <= 0 {
		max = recordsize.Default
	}
	return &recordReader{r: bufio.NewReaderSize(r, readerBufferSize), delim: cfg.Delimiter, quote: cfg.Quote, latin1: cfg.Latin1,
		offset: offset, line: line, maxRecord: max}
}

// scanOptions are the csvscan options of a configuration.
func scanOptions(cfg config) csvscan.Options {
	enc := csvscan.UTF8
	if cfg.Latin1 {
		enc = csvscan.Latin1
	}
	return csvscan.Options{Delimiter: cfg.Delimiter, Quote: cfg.Quote, MaxRecord: cfg.MaxRecordBytes, Encoding: enc}
}

// scanError turns csvscan's errors into the reader's: an invalid UTF-8
// field is a syntax error saying what to set for a Latin-1 file.
func scanError(err error) error {
	var se *csvscan.SyntaxError
	var tl *csvscan.TooLargeError
	var ue *csvscan.UTF8Error
	switch {
	case errors.As(err, &se):
		return &syntaxError{se.Line, se.Msg}
	case errors.As(err, &tl):
		return &tooLargeError{line: tl.Line, max: tl.Max, fields: tl.Fields}
	case errors.As(err, &ue):
		return &syntaxError{ue.Line, fmt.Sprintf("field %d is not valid UTF-8 (set encoding: latin-1 if the file is Latin-1)", ue.Field)}
	}
	return err
}

func (p *recordReader) scanner() *csvscan.Scanner {
	if p.sc == nil {
		enc := csvscan.UTF8
		if p.latin1 {
			enc = csvscan.Latin1
		}
		p.sc = csvscan.NewBuffered(p.r, csvscan.Options{Delimiter: p.delim, Quote: p.quote, MaxRecord: p.maxRecord, Encoding: enc, ByteLoopOnly: p.slowOnly},
			p.offset, p.line)
	}
	return p.sc
}

// readByte reads one byte, keeping offset and line.
func (p *recordReader) readByte() (byte, error) {
	b, err := p.r.ReadByte()
	if err == nil {
		p.offset++
		if b == '\n' {
			p.line++
		}
	}
	return b, err
}

// skipBOM drops a UTF-8 byte order mark at the start of a file.
func (p *recordReader) skipBOM() {
	sc := p.scanner()
	sc.SkipBOM()
	p.offset = sc.Offset()
}

// read returns the next record's fields (converted to UTF-8), whether each
// was quoted, and the line the record starts on. At the end of input it
// returns io.EOF. The slices are reused by the next call.
func (p *recordReader) read() (fields []string, quoted []bool, line int64, err error) {
	sc := p.scanner()
	rec, err := sc.Next()
	p.offset, p.line = sc.Offset(), sc.Line()
	if err != nil {
		return nil, nil, rec.Line, scanError(err)
	}
	// One string for the record (checked or converted to UTF-8 by the
	// scanner): the fields are substrings of it.
	n := 0
	for _, f := range rec.Fields {
		n += len(f)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, f := range rec.Fields {
		sb.Write(f)
	}
	all := sb.String()
	fields = make([]string, len(rec.Fields))
	start := 0
	for i, f := range rec.Fields {
		fields[i] = all[start : start+len(f)]
		start += len(f)
	}
	return fields, rec.Quoted, rec.Line, nil
}

// fields converts a record the byte loop of tests' reference reader left
// in p.buf and p.ends into strings (UTF-8) as read does: one allocation
// per record, and the same error for a field that is not UTF-8.
func (p *recordReader) fields(line int64) ([]string, []bool, int64, error) {
	fields := make([]string, len(p.ends))
	if p.latin1 {
		start := 0
		for i, end := range p.ends {
			fields[i] = latin1ToUTF8(p.buf[start:end])
			start = end
		}
		return fields, p.quoted, line, nil
	}
	valid := utf8.Valid(p.buf)
	for _, end := range p.ends {
		// Valid as a whole but a character cut in two by a delimiter is
		// still two invalid fields: check them one by one.
		if valid && end < len(p.buf) && p.buf[end]&0xC0 == 0x80 {
			valid = false
		}
	}
	if !valid {
		start := 0
		for i, end := range p.ends {
			if !utf8.Valid(p.buf[start:end]) {
				return nil, nil, line, &syntaxError{line, fmt.Sprintf("field %d is not valid UTF-8 (set encoding: latin-1 if the file is Latin-1)", i+1)}
			}
			start = end
		}
	}
	all := string(p.buf)
	start := 0
	for i, end := range p.ends {
		fields[i] = all[start:end]
		start = end
	}
	return fields, p.quoted, line, nil
}

func latin1ToUTF8(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// atEOF reports whether nothing but empty lines is left.
func (p *recordReader) atEOF() bool { return p.scanner().AtEOF() }
