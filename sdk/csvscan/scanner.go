// Package csvscan splits csv bytes into records of byte-slice fields,
// keeping the byte offset and line number of its position so that a read
// can stop after any record and resume there later by seeking. It is the
// record layer of the text connectors (csv files, csv objects on S3); the
// fields it returns are parsed into Arrow columns by sdk/coltype without a
// string per field.
//
// # Format
//
// RFC 4180 with a configurable delimiter and quote character. Records end
// at "\n" or "\r\n"; a '\r' not followed by "\n" is data. A field that
// starts with the quote character is quoted: it may hold delimiters, line
// breaks and doubled quote characters (read as one), and must be followed
// by a delimiter, a line break or the end of input. A quote character
// inside an unquoted field is kept as data. Empty lines between records
// are skipped.
//
// # Bounds
//
// A record longer than Options.MaxRecord bytes (its final line break not
// counted) or of more than recordsize.MaxFields fields is a
// [*TooLargeError], found while the record is read: the scanner never holds
// more than MaxRecord bytes of it.
//
// # Speed
//
// A record that lies whole in the read buffer (the common case) is split
// where it lies with bytes.IndexByte, without copying: its fields are
// slices of the buffer, and only a quoted field holding a doubled quote is
// copied (to undouble it). Anything else (a record longer than the buffer,
// the last record of input without a line break, malformed or over-cap
// input) takes a byte loop that copies the record into a buffer of its
// own; both give the same records, errors, offsets and lines. Text is
// checked as UTF-8 once per record, not once per field.
package csvscan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// Encoding says what the scanner does with the bytes of the fields.
type Encoding uint8

const (
	// Raw hands out the bytes as they are, unchecked.
	Raw Encoding = iota
	// UTF8 checks each record's text is UTF-8, else a [*UTF8Error].
	UTF8
	// Latin1 reads the bytes as ISO-8859-1 and hands out their UTF-8.
	Latin1
)

// Options configure a Scanner. The zero value is not usable: Delimiter and
// Quote must be set (and differ, and be neither '\r' nor '\n').
type Options struct {
	// Delimiter separates fields; Quote quotes them.
	Delimiter, Quote byte
	// MaxRecord caps a record's bytes (its final line break not counted);
	// 0 means recordsize.Default.
	MaxRecord int64
	// Encoding of the input: Raw (the zero value), UTF8 or Latin1.
	Encoding Encoding
	// ByteLoopOnly turns the in-buffer path off, for tests that compare
	// both paths.
	ByteLoopOnly bool
}

// BufferSize is the read buffer New uses: records that fit in it are split
// where they lie. Being far below recordsize.MaxFields, a record in the
// buffer cannot have too many fields.
const BufferSize = 256 << 10

// Record is one record: its fields, whether each was quoted, and the line
// it starts on. The slices are the Scanner's and change on its next call.
type Record struct {
	Line   int64
	Fields [][]byte
	Quoted []bool
}

// Strings returns a copy of the fields as strings.
func (r Record) Strings() []string {
	out := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		out[i] = string(f)
	}
	return out
}

// SyntaxError is malformed csv at a line.
type SyntaxError struct {
	Line int64
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// TooLargeError is a record over the cap (Max bytes), or of more than
// recordsize.MaxFields fields (Fields), starting at Line.
type TooLargeError struct {
	Line   int64
	Max    int64
	Fields bool
}

func (e *TooLargeError) Error() string {
	if e.Fields {
		return fmt.Sprintf("line %d: more than %d fields", e.Line, recordsize.MaxFields)
	}
	return fmt.Sprintf("line %d: a record larger than %d bytes", e.Line, e.Max)
}

// UTF8Error is a field (from 1) that is not valid UTF-8, in the record
// starting at Line (Encoding UTF8).
type UTF8Error struct {
	Line  int64
	Field int
}

func (e *UTF8Error) Error() string {
	return fmt.Sprintf("line %d: field %d is not valid UTF-8", e.Line, e.Field)
}

// Scanner reads records. It is not safe for concurrent use.
type Scanner struct {
	r            *bufio.Reader
	delim, quote byte
	enc          Encoding
	maxRecord    int64
	byteLoopOnly bool

	// offset is the byte offset of the next unread byte; line is its
	// 1-based line number.
	offset, line int64

	// buf holds the record of the byte loop, ends its fields' ends.
	buf  []byte
	ends []int
	// scratch holds the undoubled quoted fields of the in-buffer path;
	// conv the UTF-8 of a Latin-1 record.
	scratch, conv []byte

	fields [][]byte
	quoted []bool
}

// New returns a Scanner reading r through a buffer of BufferSize, which
// starts at a record boundary at byte offset of its input, on line line.
func New(r io.Reader, opts Options, offset, line int64) *Scanner {
	return NewBuffered(bufio.NewReaderSize(r, BufferSize), opts, offset, line)
}

// NewBuffered is New reading from br, whose buffer size bounds the records
// split where they lie (smaller buffers are for tests).
func NewBuffered(br *bufio.Reader, opts Options, offset, line int64) *Scanner {
	max := opts.MaxRecord
	if max <= 0 {
		max = recordsize.Default
	}
	return &Scanner{r: br, delim: opts.Delimiter, quote: opts.Quote, enc: opts.Encoding, maxRecord: max,
		byteLoopOnly: opts.ByteLoopOnly, offset: offset, line: line}
}

// Offset is the byte offset of the next unread byte.
func (s *Scanner) Offset() int64 { return s.offset }

// Line is the line number of the next unread byte.
func (s *Scanner) Line() int64 { return s.line }

// BufferCap is the capacity of the byte loop's record buffer, which a
// record over the cap never grows past the cap (tests check it).
func (s *Scanner) BufferCap() int { return cap(s.buf) }

// SkipBOM drops a UTF-8 byte order mark at the start of the input.
func (s *Scanner) SkipBOM() {
	if b, err := s.r.Peek(3); err == nil && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		s.r.Discard(3)
		s.offset += 3
	}
}

// AtEOF reports whether nothing but empty lines is left. It may read, so
// the last Record's slices are no longer valid after it.
func (s *Scanner) AtEOF() bool {
	for i := 1; ; i++ {
		b, err := s.r.Peek(i)
		if err != nil {
			return errors.Is(err, io.EOF)
		}
		if c := b[i-1]; c != '\n' && c != '\r' {
			return false
		}
	}
}

func (s *Scanner) readByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.offset++
		if b == '\n' {
			s.line++
		}
	}
	return b, err
}

// Next returns the next record; at the end of input, io.EOF. Its errors
// are *SyntaxError, *TooLargeError, *UTF8Error, or the input's.
func (s *Scanner) Next() (Record, error) {
	// Skip empty lines.
	for {
		b, err := s.r.Peek(1)
		if err != nil {
			return Record{Line: s.line}, err
		}
		if b[0] == '\n' {
			s.readByte()
			continue
		}
		if b[0] == '\r' {
			if b2, err := s.r.Peek(2); err == nil && b2[1] == '\n' {
				s.readByte()
				s.readByte()
				continue
			}
		}
		break
	}
	line := s.line
	if !s.byteLoopOnly {
		if raw, ok := s.inBuffer(); ok {
			return s.finish(line, raw)
		}
	}
	if err := s.byteLoop(line); err != nil {
		return Record{Line: line}, err
	}
	s.fields = s.fields[:0]
	start := 0
	for _, end := range s.ends {
		s.fields = append(s.fields, s.buf[start:end:end])
		start = end
	}
	return s.finish(line, nil)
}

// finish checks or converts the record's text; raw is the record's bytes
// as read (in-buffer path), nil after the byte loop.
func (s *Scanner) finish(line int64, raw []byte) (Record, error) {
	rec := Record{Line: line, Fields: s.fields, Quoted: s.quoted}
	switch s.enc {
	case UTF8:
		if raw != nil {
			// Delimiters, quotes and line breaks are ASCII, which never
			// falls inside a character: the record is valid UTF-8 if and
			// only if each field is.
			if utf8.Valid(raw) {
				return rec, nil
			}
		} else if s.concatValid() {
			return rec, nil
		}
		for i, f := range s.fields {
			if !utf8.Valid(f) {
				return Record{Line: line}, &UTF8Error{Line: line, Field: i + 1}
			}
		}
	case Latin1:
		s.toUTF8(raw)
	}
	return rec, nil
}

// concatValid reports whether every field of the byte loop's buffer is
// valid UTF-8, checking the buffer at once: valid as a whole but a
// character cut in two by a field end is still two invalid fields.
func (s *Scanner) concatValid() bool {
	if !utf8.Valid(s.buf) {
		return false
	}
	for _, end := range s.ends {
		if end < len(s.buf) && s.buf[end]&0xC0 == 0x80 {
			return false
		}
	}
	return true
}

// toUTF8 converts the Latin-1 fields to UTF-8 (into s.conv) when any byte
// is not ASCII.
func (s *Scanner) toUTF8(raw []byte) {
	all := raw
	if all == nil {
		all = s.buf
	}
	n := 0
	for _, c := range all {
		if c >= 0x80 {
			n++
		}
	}
	if n == 0 {
		return
	}
	if need := len(all) + n; cap(s.conv) < need {
		s.conv = make([]byte, 0, need)
	}
	conv := s.conv[:0]
	for i, f := range s.fields {
		start := len(conv)
		for _, c := range f {
			if c < 0x80 {
				conv = append(conv, c)
			} else {
				conv = append(conv, 0xC0|c>>6, 0x80|c&0x3F)
			}
		}
		s.fields[i] = conv[start:len(conv):len(conv)]
	}
	s.conv = conv
}

// split outcomes.
const (
	splitOK = iota
	// splitShort: the record does not end within the bytes given.
	splitShort
	// splitOther: malformed, over the cap, or with too many fields: the
	// byte loop reads it and reports what is wrong.
	splitOther
)

// inBuffer reads the next record when it lies whole in the read buffer
// (filling the buffer first when the buffered bytes end inside it). It
// reports false, having read nothing, for anything else.
func (s *Scanner) inBuffer() ([]byte, bool) {
	w, _ := s.r.Peek(s.r.Buffered())
	n, lines, res := s.split(w)
	if res == splitShort && len(w) < s.r.Size() {
		w, _ = s.r.Peek(s.r.Size()) // less at the end of input
		n, lines, res = s.split(w)
	}
	if res != splitOK {
		return nil, false
	}
	raw := w[:n]
	s.r.Discard(n)
	s.offset += int64(n)
	s.line += lines
	return raw, true
}

// split splits the record at the start of w into s.fields and s.quoted,
// the fields being slices of w (or of s.scratch for a quoted field with a
// doubled quote). It returns the record's bytes with its line break and
// the line breaks in them.
func (s *Scanner) split(w []byte) (n int, lines int64, res int) {
	// The slices are the scanner's, worked on as locals and stored once
	// per record rather than once per field.
	var fields [][]byte
	var quoted []bool
	var scratch []byte
	fields, quoted, scratch, n, lines, res = splitRecord(w, s.delim, s.quote, s.maxRecord, s.fields[:0], s.quoted[:0], s.scratch[:0])
	s.fields, s.quoted, s.scratch = fields, quoted, scratch
	return n, lines, res
}

// splitRecord is split's work, appending to fields, quoted and scratch
// (for undoubled fields: when it grows, earlier fields keep their slices
// of the old array, whose bytes do not change).
func splitRecord(w []byte, delim, quote byte, maxRecord int64, fields [][]byte, quoted []bool, scratch []byte) ([][]byte, []bool, []byte, int, int64, int) {
	i, nl := 0, -1 // nl: the next '\n' at or after i, once looked for
	brk := 1       // the bytes of the line break ending the record
	quotedLines := false
	for {
		if i < len(w) && w[i] == quote {
			start := i + 1
			j := start
			undoubled := -1
			for {
				k := bytes.IndexByte(w[j:], quote)
				if k < 0 {
					return fields, quoted, scratch, 0, 0, splitShort
				}
				j += k
				if j+1 >= len(w) {
					return fields, quoted, scratch, 0, 0, splitShort
				}
				if w[j+1] != quote {
					break
				}
				if undoubled < 0 {
					undoubled = len(scratch)
				}
				scratch = append(scratch, w[start:j+1]...)
				j += 2
				start = j
			}
			f := w[start:j:j]
			if undoubled >= 0 {
				scratch = append(scratch, f...)
				f = scratch[undoubled:len(scratch):len(scratch)]
			}
			if !quotedLines && bytes.IndexByte(w[i:j], '\n') >= 0 {
				quotedLines = true
			}
			fields = append(fields, f)
			quoted = append(quoted, true)
			i = j + 1
			switch c := w[i]; c {
			case delim:
				i++
				continue
			case '\n':
				i++
			case '\r':
				if i+1 >= len(w) {
					return fields, quoted, scratch, 0, 0, splitShort
				}
				if w[i+1] != '\n' {
					return fields, quoted, scratch, 0, 0, splitOther
				}
				i += 2
				brk = 2
			default:
				return fields, quoted, scratch, 0, 0, splitOther
			}
			break
		}
		// An unquoted field ends at a delimiter or at the line break.
		if nl < i {
			k := bytes.IndexByte(w[i:], '\n')
			if k < 0 {
				return fields, quoted, scratch, 0, 0, splitShort
			}
			nl = i + k
		}
		if k := bytes.IndexByte(w[i:nl], delim); k >= 0 {
			fields = append(fields, w[i:i+k:i+k])
			quoted = append(quoted, false)
			i += k + 1
			continue
		}
		end := nl
		if end > i && w[end-1] == '\r' {
			end--
			brk = 2
		}
		fields = append(fields, w[i:end:end])
		quoted = append(quoted, false)
		i = nl + 1
		break
	}
	if int64(i-brk) > maxRecord || len(fields) > recordsize.MaxFields {
		return fields, quoted, scratch, 0, 0, splitOther
	}
	lines := int64(1)
	if quotedLines {
		lines = int64(bytes.Count(w[:i], newline))
	}
	return fields, quoted, scratch, i, lines, splitOK
}

var newline = []byte{'\n'}

// byteLoop reads the record into s.buf and s.ends, field by field, with
// the record cap checked before each byte is added: a record over the cap
// fails at its first bytes past the cap, having held no more than the cap.
func (s *Scanner) byteLoop(line int64) error {
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	s.quoted = s.quoted[:0]
	limit := s.offset + s.maxRecord
	for {
		// One field.
		if c, err := s.r.Peek(1); err == nil && c[0] == s.quote {
			s.readByte()
			if err := s.quotedField(line, limit); err != nil {
				return err
			}
			b, err := s.readByte()
			s.ends = append(s.ends, len(s.buf))
			s.quoted = append(s.quoted, true)
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if b == s.delim {
				if err := s.nextField(line, limit); err != nil {
					return err
				}
				continue
			}
			if b == '\r' {
				if next, perr := s.r.Peek(1); perr == nil && next[0] == '\n' {
					s.readByte()
					return nil
				}
			}
			if b == '\n' {
				return nil
			}
			return &SyntaxError{s.line, fmt.Sprintf("unexpected %q after a closing quote in field %d", b, len(s.ends))}
		}
		end, err := s.unquotedField(limit, line)
		s.ends = append(s.ends, len(s.buf))
		s.quoted = append(s.quoted, false)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if end == '\n' {
			return nil
		}
		if err := s.nextField(line, limit); err != nil {
			return err
		}
	}
}

// nextField checks the record after a delimiter: the delimiter counts
// toward the cap, and another field must not pass MaxFields.
func (s *Scanner) nextField(line, limit int64) error {
	if s.offset > limit {
		return &TooLargeError{Line: line, Max: s.maxRecord}
	}
	if len(s.ends) >= recordsize.MaxFields {
		return &TooLargeError{Line: line, Fields: true}
	}
	return nil
}

// buffered returns the bytes in the read buffer, filling it first when it
// is empty; at the end of input, io.EOF.
func (s *Scanner) buffered() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
	}
	return s.r.Peek(s.r.Buffered())
}

// take adds the next buffered bytes b (holding lines line breaks) to
// s.buf and moves past them, after checking the cap: a byte past limit is
// a record over the cap.
func (s *Scanner) take(b []byte, lines int64, line, limit int64) error {
	if s.offset+int64(len(b)) > limit {
		return &TooLargeError{Line: line, Max: s.maxRecord}
	}
	if len(b) > cap(s.buf)-len(s.buf) {
		s.grow(len(b))
	}
	s.buf = append(s.buf, b...)
	s.offset += int64(len(b))
	s.line += lines
	s.r.Discard(len(b))
	return nil
}

// quotedField reads a quoted field after its opening quote, up to and
// including its closing quote, into s.buf (a doubled quote character as
// one): whole runs of the buffer at a time.
func (s *Scanner) quotedField(line, limit int64) error {
	for {
		buf, err := s.buffered()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &SyntaxError{line, "quoted field is not closed before the end of the file"}
			}
			return err
		}
		j := bytes.IndexByte(buf, s.quote)
		if j < 0 {
			j = len(buf)
		}
		if j > 0 {
			run := buf[:j]
			if err := s.take(run, int64(bytes.Count(run, newline)), line, limit); err != nil {
				return err
			}
		}
		if j == len(buf) {
			continue
		}
		s.readByte() // the quote character
		if s.offset > limit {
			return &TooLargeError{Line: line, Max: s.maxRecord}
		}
		if next, perr := s.r.Peek(1); perr != nil || next[0] != s.quote {
			return nil
		}
		s.readByte()
		if len(s.buf) == cap(s.buf) {
			s.grow(1)
		}
		s.buf = append(s.buf, s.quote)
	}
}

// unquotedField reads an unquoted field into s.buf up to the delimiter or
// the line break ("\n" or "\r\n") that ends it, which it reads too and
// returns ('\n' for either line break); a field ended by the end of input
// returns io.EOF. A '\r' not followed by "\n" is data.
func (s *Scanner) unquotedField(limit, line int64) (byte, error) {
	for {
		buf, err := s.buffered()
		if err != nil {
			return 0, err
		}
		i := 0
		for i < len(buf) && buf[i] != s.delim && buf[i] != '\n' && buf[i] != '\r' {
			i++
		}
		if i > 0 {
			if err := s.take(buf[:i], 0, line, limit); err != nil {
				return 0, err
			}
		}
		if i == len(buf) {
			continue
		}
		b, _ := s.readByte()
		if b != '\r' {
			return b, nil
		}
		if next, perr := s.r.Peek(1); perr == nil && next[0] == '\n' {
			s.readByte()
			return '\n', nil
		}
		if s.offset > limit {
			return 0, &TooLargeError{Line: line, Max: s.maxRecord}
		}
		if len(s.buf) == cap(s.buf) {
			s.grow(1)
		}
		s.buf = append(s.buf, '\r')
	}
}

// grow enlarges s.buf for at least need more bytes: it doubles the
// capacity, and once that reaches a quarter of maxRecord it goes straight
// to maxRecord, past which a record fails anyway. Go's append grows a
// large slice by a quarter each time, which on the way to a record of the
// cap's size left about four times the cap in garbage (a 64 MiB cap
// peaked near 300 MiB); this leaves at most a quarter of the cap, so a
// record over the cap is found holding about 1.25 times the cap.
func (s *Scanner) grow(need int) {
	n := max(2*cap(s.buf), 4096, len(s.buf)+need)
	if n >= int(s.maxRecord)/4 {
		n = max(int(s.maxRecord), len(s.buf)+need)
	}
	b := make([]byte, len(s.buf), n)
	copy(b, s.buf)
	s.buf = b
}
