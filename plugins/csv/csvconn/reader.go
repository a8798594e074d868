package csvconn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// recordReader splits CSV bytes into records (RFC 4180 with a configurable
// delimiter and quote character) and keeps the byte offset and the line
// number of its position, so a read can stop after any record and resume
// there later by seeking.
//
// Records end at "\n" or "\r\n"; a quoted field may hold delimiters, line
// breaks and doubled quote characters; a quote character inside an
// unquoted field is kept as data. Empty lines between records are skipped.
//
// A record longer than maxRecord bytes (its final line break not counted)
// or of more than recordsize.MaxFields fields is an error, found while the
// record is read: the reader never holds more than maxRecord bytes of it.
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
	// slowOnly turns fastRecord off (tests compare both paths).
	slowOnly bool
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

// readerBufferSize is the bufio buffer: fastRecord handles records that
// fit in it, so a record it handles has fewer than recordsize.MaxFields
// fields.
const readerBufferSize = 256 << 10

func newRecordReader(r io.Reader, cfg config, offset, line int64) *recordReader {
	max := cfg.MaxRecordBytes
	if max <= 0 {
		max = recordsize.Default
	}
	return &recordReader{r: bufio.NewReaderSize(r, readerBufferSize), delim: cfg.Delimiter, quote: cfg.Quote, latin1: cfg.Latin1,
		offset: offset, line: line, maxRecord: max}
}

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
	if b, err := p.r.Peek(3); err == nil && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		p.r.Discard(3)
		p.offset += 3
	}
}

// atEOF reports whether nothing but empty lines is left.
func (p *recordReader) atEOF() bool {
	for i := 1; ; i++ {
		b, err := p.r.Peek(i)
		if err != nil {
			return errors.Is(err, io.EOF)
		}
		if c := b[i-1]; c != '\n' && c != '\r' {
			return false
		}
	}
}

// read returns the next record's fields (converted to UTF-8), whether each
// was quoted, and the line the record starts on. At the end of input it
// returns io.EOF. The slices are reused by the next call.
//
// Every byte of the record but its final line break counts toward the
// cap, checked before it is added to p.buf: a record over the cap fails
// at its first bytes past the cap, having held no more than the cap.
func (p *recordReader) read() (fields []string, quoted []bool, line int64, err error) {
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
	if !p.slowOnly && p.fastRecord() {
		return p.fields(line)
	}
	limit := p.offset + p.maxRecord
	for {
		// One field.
		if c, err := p.r.Peek(1); err == nil && c[0] == p.quote {
			p.readByte()
			if err := p.quotedField(line, limit); err != nil {
				return nil, nil, line, err
			}
			b, err := p.readByte()
			p.ends = append(p.ends, len(p.buf))
			p.quoted = append(p.quoted, true)
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, nil, line, err
			}
			if b == p.delim {
				if err := p.nextField(line, limit); err != nil {
					return nil, nil, line, err
				}
				continue
			}
			if b == '\r' {
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
		end, err := p.unquotedField(limit, line)
		p.ends = append(p.ends, len(p.buf))
		p.quoted = append(p.quoted, false)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, line, err
		}
		if end == '\n' {
			break
		}
		if err := p.nextField(line, limit); err != nil {
			return nil, nil, line, err
		}
	}
	return p.fields(line)
}

// nextField checks the record after a delimiter (read): the delimiter
// counts toward the cap, and another field must not pass MaxFields.
func (p *recordReader) nextField(line, limit int64) error {
	if p.offset > limit {
		return &tooLargeError{line: line, max: p.maxRecord}
	}
	if len(p.ends) >= recordsize.MaxFields {
		return &tooLargeError{line: line, fields: true}
	}
	return nil
}

// buffered returns the bytes in the reader's buffer, filling it first
// when it is empty; at the end of input, io.EOF.
func (p *recordReader) buffered() ([]byte, error) {
	if p.r.Buffered() == 0 {
		if _, err := p.r.Peek(1); err != nil {
			return nil, err
		}
	}
	return p.r.Peek(p.r.Buffered())
}

// take adds the next n buffered bytes (s, holding no line break unless
// lines says how many) to p.buf and moves past them, after checking the
// cap: a byte past limit is a record over the cap.
func (p *recordReader) take(s []byte, lines int64, line, limit int64) error {
	if p.offset+int64(len(s)) > limit {
		return &tooLargeError{line: line, max: p.maxRecord}
	}
	if len(s) > cap(p.buf)-len(p.buf) {
		p.grow(len(s))
	}
	p.buf = append(p.buf, s...)
	p.offset += int64(len(s))
	p.line += lines
	p.r.Discard(len(s))
	return nil
}

// quotedField reads a quoted field after its opening quote, up to and
// including its closing quote, into p.buf (a doubled quote character as
// one): whole runs of the buffer at a time.
func (p *recordReader) quotedField(line, limit int64) error {
	for {
		buf, err := p.buffered()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &syntaxError{line, "quoted field is not closed before the end of the file"}
			}
			return err
		}
		j := bytes.IndexByte(buf, p.quote)
		if j < 0 {
			j = len(buf)
		}
		if j > 0 {
			run := buf[:j]
			if err := p.take(run, int64(bytes.Count(run, newline)), line, limit); err != nil {
				return err
			}
		}
		if j == len(buf) {
			continue
		}
		p.readByte() // the quote character
		if p.offset > limit {
			return &tooLargeError{line: line, max: p.maxRecord}
		}
		if next, perr := p.r.Peek(1); perr != nil || next[0] != p.quote {
			return nil
		}
		p.readByte()
		if len(p.buf) == cap(p.buf) {
			p.grow(1)
		}
		p.buf = append(p.buf, p.quote)
	}
}

var newline = []byte{'\n'}

// unquotedField reads an unquoted field into p.buf up to the delimiter or
// the line break ("\n" or "\r\n") that ends it, which it reads too and
// returns ('\n' for either line break); a field ended by the end of input
// returns io.EOF. A '\r' not followed by "\n" is data.
func (p *recordReader) unquotedField(limit, line int64) (byte, error) {
	for {
		buf, err := p.buffered()
		if err != nil {
			return 0, err
		}
		i := 0
		for i < len(buf) && buf[i] != p.delim && buf[i] != '\n' && buf[i] != '\r' {
			i++
		}
		if i > 0 {
			if err := p.take(buf[:i], 0, line, limit); err != nil {
				return 0, err
			}
		}
		if i == len(buf) {
			continue
		}
		b, _ := p.readByte()
		if b != '\r' {
			return b, nil
		}
		if next, perr := p.r.Peek(1); perr == nil && next[0] == '\n' {
			p.readByte()
			return '\n', nil
		}
		if p.offset > limit {
			return 0, &tooLargeError{line: line, max: p.maxRecord}
		}
		if len(p.buf) == cap(p.buf) {
			p.grow(1)
		}
		p.buf = append(p.buf, '\r')
	}
}

// grow enlarges p.buf for at least need more bytes: it doubles the
// capacity, and once that reaches a quarter of maxRecord it goes straight
// to maxRecord, past which a record fails anyway. Go's append grows a
// large slice by a quarter each time, which on the way to a record of the
// cap's size left about four times the cap in garbage (a 64 MiB cap
// peaked near 300 MiB); this leaves at most a quarter of the cap, so a
// record over the cap is found holding about 1.25 times the cap.
func (p *recordReader) grow(need int) {
	n := max(2*cap(p.buf), 4096, len(p.buf)+need)
	if n >= int(p.maxRecord)/4 {
		n = max(int(p.maxRecord), len(p.buf)+need)
	}
	b := make([]byte, len(p.buf), n)
	copy(b, p.buf)
	p.buf = b
}

// fastRecord reads the next record when it is one whole line in the
// buffer without a quote character (the common case), splitting it at the
// delimiters with bytes.IndexByte instead of a call per byte. It reports
// false, having read nothing, for anything else (a quote, a line longer
// than the buffer or than maxRecord, the last line without a newline),
// which the byte loop handles. A line in the buffer has fewer than
// recordsize.MaxFields fields, so only its length is checked here.
func (p *recordReader) fastRecord() bool {
	n := p.r.Buffered()
	buf, _ := p.r.Peek(n)
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		buf, _ = p.r.Peek(p.r.Size())
		if i = bytes.IndexByte(buf, '\n'); i < 0 {
			return false
		}
	}
	rec := buf[:i]
	if bytes.IndexByte(rec, p.quote) >= 0 {
		return false
	}
	if len(rec) > 0 && rec[len(rec)-1] == '\r' { // "\r\n" ends the record
		rec = rec[:len(rec)-1]
	}
	if int64(len(rec)) > p.maxRecord {
		return false
	}
	for {
		j := bytes.IndexByte(rec, p.delim)
		if j < 0 {
			break
		}
		p.buf = append(p.buf, rec[:j]...)
		p.ends = append(p.ends, len(p.buf))
		p.quoted = append(p.quoted, false)
		rec = rec[j+1:]
	}
	p.buf = append(p.buf, rec...)
	p.ends = append(p.ends, len(p.buf))
	p.quoted = append(p.quoted, false)
	p.r.Discard(i + 1)
	p.offset += int64(i + 1)
	p.line++
	return true
}

// fields converts the record in p.buf and p.ends into strings (UTF-8),
// one allocation per record: the fields are substrings of one string.
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
