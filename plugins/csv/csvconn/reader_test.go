package csvconn

import (
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestFastRecordMatchesByteLoop reads random CSV (quotes, doubled quotes,
// CRLF and lone CR, empty fields and lines, multi-byte characters, bytes
// that are not UTF-8, a last line without a newline) with and without the
// fast path: the same records, errors, offsets and line numbers.
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
				t.Fatalf("input %d %q (latin1 %v):\nfast %+v\nslow %+v", n, in, latin1, fast, slow)
			}
		}
	}
}
