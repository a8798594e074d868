package configkey

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// MaxQuoted is the most bytes of a value that a message quotes: enough to
// recognise a value, and a hostile 100,000-character one cannot flood an
// error or a log.
const MaxQuoted = 80

// Quote returns s quoted as the %q verb does, cut after MaxQuoted bytes
// (at a character boundary) with "..." and the value's whole length:
//
//	"aaaaaaaa...aaa..." (100000 bytes)
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	cut := MaxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s (%d bytes)", strconv.Quote(s[:cut]+"..."), len(s))
}

// quotedRe matches a double-quoted Go string literal.
var quotedRe = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// CutQuoted returns msg with every double-quoted string whose contents are
// longer than MaxQuoted bytes cut as Quote cuts it. A host applies it to
// every message it shows, so a connector that quotes a huge value whole
// does not flood the output.
func CutQuoted(msg string) string {
	if len(msg) <= MaxQuoted+2 {
		return msg
	}
	return quotedRe.ReplaceAllStringFunc(msg, func(q string) string {
		if len(q) <= MaxQuoted+2 {
			return q
		}
		s, err := strconv.Unquote(q)
		if err != nil {
			s = q[1 : len(q)-1]
		}
		if len(s) <= MaxQuoted {
			return q
		}
		return Quote(s)
	})
}
