package configkey_test

import (
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

func TestUnknown(t *testing.T) {
	pg := []string{"host", "port", "user", "password", "password_file"}
	tests := []struct {
		name    string
		key     string
		allowed []string
		want    string
	}{
		{"one letter dropped", "pasword", pg,
			`unknown key "pasword" (did you mean password?); allowed keys: host, port, user, password, password_file`},
		{"transposed letters", "delimter", []string{"path", "delimiter", "quote_char"},
			`unknown key "delimter" (did you mean delimiter?); allowed keys: path, delimiter, quote_char`},
		{"case only", "Password", pg,
			`unknown key "Password" (did you mean password?); allowed keys: host, port, user, password, password_file`},
		{"two edits", "pasword_fil", pg,
			`unknown key "pasword_fil" (did you mean password_file?); allowed keys: host, port, user, password, password_file`},
		{"three edits is too far", "hots__", []string{"host"},
			`unknown key "hots__"; allowed keys: host`},
		{"nothing close", "colour", pg,
			`unknown key "colour"; allowed keys: host, port, user, password, password_file`},
		{"no allowed keys", "x", nil,
			`unknown key "x"; allowed keys: `},
		{"quotes are escaped", `a"b`, []string{"ab"},
			`unknown key "a\"b" (did you mean ab?); allowed keys: ab`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := configkey.Unknown(tt.key, tt.allowed); got != tt.want {
				t.Errorf("Unknown(%q) =\n  %s\nwant\n  %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		allowed []string
		want    string
	}{
		{"exact match", "mode", []string{"name", "mode"}, " (did you mean mode?)"},
		{"one substitution", "mdoe", []string{"name", "from", "mode"}, " (did you mean mode?)"},
		{"insertion", "tagret", []string{"target"}, " (did you mean target?)"},
		{"closest wins over earlier", "sead", []string{"rows", "seed"}, " (did you mean seed?)"},
		{"tie goes to the earlier", "ab", []string{"ax", "xb"}, " (did you mean ax?)"},
		{"case-insensitive both ways", "HOST", []string{"Hots"}, " (did you mean Hots?)"},
		{"distance 3 is not close", "abc", []string{"xyz"}, ""},
		{"empty key", "", []string{"ab", "abcd"}, " (did you mean ab?)"},
		{"non-ASCII counts runes", "naïve", []string{"naive"}, " (did you mean naive?)"},
		{"too long is never close", strings.Repeat("a", 65), []string{strings.Repeat("a", 65)}, ""},
		{"64 runes is compared", strings.Repeat("a", 64), []string{strings.Repeat("a", 63) + "b"}, " (did you mean " + strings.Repeat("a", 63) + "b?)"},
		{"no allowed", "x", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := configkey.Suggest(tt.s, tt.allowed); got != tt.want {
				t.Errorf("Suggest(%q, %q) = %q, want %q", tt.s, tt.allowed, got, tt.want)
			}
		})
	}
}

func TestQuoteAndCutQuoted(t *testing.T) {
	long := strings.Repeat("x", 100000)
	q := configkey.Quote(long)
	if len(q) > configkey.MaxQuoted+40 || !strings.Contains(q, "(100000 bytes)") {
		t.Fatalf("Quote of a long value: %s", q)
	}
	if got := configkey.Quote("short"); got != `"short"` {
		t.Fatalf("Quote(short) = %s", got)
	}
	msg := `must be one of a, b, got "` + long + `" and "ok"`
	cut := configkey.CutQuoted(msg)
	if len(cut) > 200 || !strings.Contains(cut, `"ok"`) || !strings.Contains(cut, "(100000 bytes)") {
		t.Fatalf("CutQuoted: %s", cut)
	}
	// A multi-byte character is never split.
	u := configkey.Quote(strings.Repeat("é", 100))
	if !strings.Contains(u, "é...") {
		t.Fatalf("Quote split a character: %s", u)
	}
	if got := configkey.Unknown(long, []string{"path"}); len(got) > 200 {
		t.Fatalf("Unknown quotes a long key whole: %d bytes", len(got))
	}
}
