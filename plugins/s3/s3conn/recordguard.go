package s3conn

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// guardChunk is how much csvGuard reads from the object at a time (less
// when the cap is smaller).
const guardChunk = 256 << 10

// tooLargeError is a csv record or jsonl line over max_record_bytes (max),
// or a csv record of more than recordsize.MaxFields fields, starting at a
// line of the object.
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

// csvGuard sits between an object's (uncompressed) bytes and
// encoding/csv, and fails a record longer than max bytes (its final line
// break not counted) or of more than recordsize.MaxFields fields before
// encoding/csv has seen more than a little of it.
//
// encoding/csv holds a whole line before it parses it, and on a read
// error still copies what it has into its record buffer and then into a
// string: a 1 GiB line cost it three times the line. The guard finds the
// records itself (line breaks outside quotes; a quote toggles quoting,
// which is exact for RFC 4180 and, for a stray quote, at worst misplaces
// record ends after an error encoding/csv reports first) and passes bytes
// through at once, except that it hands out at most release bytes of a
// record that has not ended yet: the rest is held back until the record
// ends within the cap, or the record passes the cap and the read fails.
// So a record over the cap is found holding about the cap, in chunks, and
// encoding/csv never holds more than release bytes of it.
//
// The guard starts at a record boundary (an object's start or a
// checkpoint's offset) on line line.
type csvGuard struct {
	src     io.Reader
	delim   []byte
	max     int64
	release int64
	chunk   int // bytes read at a time: at most the cap

	// The scan's position: after the last byte read from src.
	quoted  bool
	cr      bool  // the last byte of the record so far is '\r' (not counted if "\n" follows)
	recLen  int64 // bytes of the current record so far
	fields  int   // delimiters outside quotes in the current record
	line    int64 // the line of the next byte
	recLine int64 // the line the current record starts on
	recOut  int64 // bytes of the current record handed out

	out  [][]byte // bytes to hand out, in order
	held [][]byte // bytes of the current record held back
	buf  []byte   // a chunk to read into, when nothing refers to it
	err  error    // returned once out is empty
}

func newCSVGuard(src io.Reader, delim rune, max, line int64) *csvGuard {
	if max <= 0 {
		max = recordsize.Default
	}
	return &csvGuard{src: src, delim: []byte(string(delim)), max: max, release: min(max/4, guardChunk), chunk: int(min(max, guardChunk)),
		line: line, recLine: line}
}

// Read hands out bytes scanned so far, reading and scanning a chunk of
// the object when there are none.
func (g *csvGuard) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.fill()
	}
	n := copy(p, g.out[0])
	if g.out[0] = g.out[0][n:]; len(g.out[0]) == 0 {
		g.out = g.out[1:]
	}
	return n, nil
}

// fill reads one chunk from src and moves what may be handed out to out.
func (g *csvGuard) fill() {
	chunk := g.buf
	if chunk == nil {
		chunk = make([]byte, g.chunk)
	}
	n, err := g.src.Read(chunk)
	c := chunk[:n]
	g.buf = chunk
	lastEnd, over := g.scan(c)
	if lastEnd >= 0 {
		// The held record ended in this chunk, within the cap.
		g.out = append(g.out, g.held...)
		g.held = nil
		g.recOut = 0
	}
	if over {
		// Hand out the records before the one over the cap, then fail.
		g.held = nil
		if lastEnd > 0 {
			g.out = append(g.out, c[:lastEnd])
			g.buf = nil
		}
		g.err = &tooLargeError{line: g.recLine, max: g.max, fields: g.fields >= recordsize.MaxFields}
		return
	}
	if len(g.held) > 0 {
		g.held = append(g.held, c)
		g.buf = nil
	} else {
		start := max(lastEnd, 0)
		cut := start + int(min(int64(n-start), max(0, g.release-g.recOut)))
		g.recOut += int64(cut - start)
		if cut > 0 {
			g.out = append(g.out, c[:cut])
		}
		if cut < n {
			g.held = append(g.held, c[cut:])
			g.buf = nil
		}
	}
	if err != nil {
		// The end of the object ends its last record; a failed read
		// fails after the bytes before it.
		g.out = append(g.out, g.held...)
		g.held = nil
		g.err = err
	}
}

// scan follows the records of c, reporting where the last record ending
// in c ends (-1: none) and whether the current record went over the caps,
// where scanning stops. A chunk is never longer than the cap, so only a
// record that began in an earlier chunk or runs on past this one can be
// over it: scan walks the first record and the last one of the chunk
// segment by segment, and steps over the records between them with two
// vectorised counts (quote characters, for the quoting at the chunk's
// end, and line breaks, for the line numbers).
func (g *csvGuard) scan(c []byte) (lastEnd int, over bool) {
	first, over := g.walk(c)
	if over || first < 0 {
		return -1, over
	}
	rest := c[first:]
	quoted := bytes.Count(rest, []byte{'"'})%2 == 1 // at the chunk's end
	last := lastRecordEnd(rest, quoted)
	if last < 0 {
		_, over = g.walk(rest)
		return first, over
	}
	g.line += int64(bytes.Count(rest[:last], []byte{'\n'}))
	g.recLine = g.line
	_, over = g.walk(rest[last:])
	return first + last, over
}

// walk follows the current record through c from its start: its bytes,
// its fields and the lines it spans, up to the line break that ends it.
// It returns the position after that line break, or -1 when the record
// runs on past c; and whether the record went over the caps, where it
// stops.
func (g *csvGuard) walk(c []byte) (end int, over bool) {
	for i := 0; i < len(c); {
		if g.quoted {
			seg := c[i:]
			j := bytes.IndexByte(seg, '"')
			if j >= 0 {
				seg = seg[:j]
			}
			g.line += int64(bytes.Count(seg, []byte{'\n'}))
			g.recLen += int64(len(seg))
			g.cr = false
			i += len(seg)
			if j >= 0 {
				g.recLen++ // the closing quote
				g.quoted = false
				i++
			}
			if g.over() {
				return -1, true
			}
			continue
		}
		seg := c[i:]
		q := bytes.IndexByte(seg, '"')
		if q >= 0 {
			seg = seg[:q]
		}
		k := bytes.IndexByte(seg, '\n')
		if k >= 0 {
			seg = seg[:k]
		}
		g.fields += bytes.Count(seg, g.delim)
		g.recLen += int64(len(seg))
		if len(seg) > 0 {
			g.cr = seg[len(seg)-1] == '\r'
		}
		if g.over() {
			return -1, true
		}
		i += len(seg)
		if k >= 0 {
			// A line break outside quotes ends the record.
			g.line++
			g.recLine, g.recLen, g.fields, g.cr = g.line, 0, 0, false
			return i + 1, false
		}
		if q >= 0 {
			g.quoted = true
			g.recLen++ // the opening quote
			g.cr = false
			i++
			if g.over() {
				return -1, true
			}
		}
	}
	return -1, false
}

// lastRecordEnd returns the position after the last line break outside
// quotes in c, whose first byte starts a record and whose end is quoted
// when quoted says so; -1 when there is none. It walks back from the end,
// quote by quote, so it costs about the length of the last record.
func lastRecordEnd(c []byte, quoted bool) int {
	j := len(c)
	nl := -2 // the last '\n' before j; -2: not looked for yet
	for j > 0 {
		if quoted {
			k := bytes.LastIndexByte(c[:j], '"')
			if k < 0 {
				return -1
			}
			j, quoted = k, false
			continue
		}
		if nl >= j || nl == -2 {
			nl = bytes.LastIndexByte(c[:j], '\n')
		}
		k := bytes.LastIndexByte(c[nl+1:j], '"')
		if k < 0 {
			if nl < 0 {
				return -1
			}
			return nl + 1
		}
		j, quoted = nl+1+k, true
	}
	return -1
}

// over reports whether the current record is over the caps. A '\r' at
// its end may be the start of its "\r\n" line break, which is not
// counted; the next byte decides.
func (g *csvGuard) over() bool {
	n := g.recLen
	if g.cr {
		n--
	}
	return n > g.max || g.fields >= recordsize.MaxFields
}

// readLine returns the next line of br (with its "\n", or the last line
// without one) like br.ReadSlice, valid until the next read, using buf
// for a line longer than br's buffer. A line longer than limit bytes (its
// "\n" or "\r\n" not counted) is a *tooLargeError (for the line line)
// found before more than about limit bytes of it are held; buf is returned
// for reuse.
func readLine(br *bufio.Reader, limit, line int64, buf []byte) ([]byte, []byte, error) {
	s, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf = append(buf[:0], s...)
		for err == bufio.ErrBufferFull {
			if contentLen(buf) > limit {
				return nil, buf, &tooLargeError{line: line, max: limit}
			}
			s, err = br.ReadSlice('\n')
			if len(buf)+len(s) > cap(buf) {
				// Double, and past a quarter of the cap go straight to
				// it: append's quarter-steps would leave several times
				// the cap in garbage on the way.
				n := max(2*cap(buf), len(buf)+len(s))
				if int64(n) >= limit/4 {
					n = max(n, int(limit)+len(s))
				}
				nb := make([]byte, len(buf), n)
				copy(nb, buf)
				buf = nb
			}
			buf = append(buf, s...)
		}
		s = buf
	}
	if contentLen(s) > limit {
		return nil, buf, &tooLargeError{line: line, max: limit}
	}
	return s, buf, err
}

// contentLen is the length of a line without its "\n" or "\r\n". A line
// still being read may end in the '\r' of its "\r\n": that is not counted
// either.
func contentLen(s []byte) int64 {
	n := len(s)
	if n > 0 && s[n-1] == '\n' {
		n--
	}
	if n > 0 && s[n-1] == '\r' {
		n--
	}
	return int64(n)
}
