package csvconn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// recordReader splits CSV bytes into records (RFC 4180 with a configurable
// delimiter and quote character) and keeps the byte offset and the line
// number of its position, so a read can stop after any record and resume
// there later by seeking.
//
// Records end at "\n" or "\r\n"; a quoted field may hold delimiters, line
// breaks and doubled quote characters; a quote character inside an
// unquoted field is kept as data. Empty lines between records are skipped.
type recordReader struct {
	r      *bufio.Reader
	delim  byte
	quote  byte
	latin1 bool
	// offset is the byte offset of the next unread byte; line is its
	// 1-based line number.
	offset int64
	line   int64

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

func newRecordReader(r io.Reader, cfg config, offset, line int64) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 256<<10), delim: cfg.Delimiter, quote: cfg.Quote, latin1: cfg.Latin1, offset: offset, line: line}
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

// fastRecord reads the next record when it is one whole line in the
// buffer without a quote character (the common case), splitting it at the
// delimiters with bytes.IndexByte instead of a call per byte. It reports
// false, having read nothing, for anything else (a quote, a line longer
// than the buffer, the last line without a newline), which the byte loop
// handles.
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
